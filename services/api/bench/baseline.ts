import { createServer, type OutgoingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type pg from "pg";
import { LISTENER_CHECKPOINT, type RiskAssessmentRow } from "@paimon/core/db";
import { DATA_AGE_HEADER, ageSeconds } from "../src/http/data-age";
import { presentFund } from "../src/fund/fund.routes";
import { redemptionPage } from "../src/redemptions/redemptions.routes";

/**
 * The SQL Kysely compiles for what the API reads per request without its cache: `latestSnapshot`,
 * `latestAssessment`, `chainSync` (the checkpoint: `chain_sync` and Paimon-Data-Age) and the first
 * `listRedemptions` page.
 */
const LATEST_SNAPSHOT = 'select * from "fund_snapshots" order by "recorded_at" desc, "id" desc limit $1';
const LATEST_RISK =
  'select * from "metrics"."risk_assessments" order by "block_number" desc, "assessed_at" desc limit $1';
const CHECKPOINT = 'select "block_number", "block_hash", "updated_at" from "sync_checkpoints" where "name" = $1';
const REDEMPTIONS_PAGE = 'select * from "redemptions" order by "created_at" desc, "id" desc limit $1';
/** The API's default page size. */
const PAGE_SIZE = 20;

interface Checkpoint {
  block_number: string;
  block_hash: string;
  updated_at: Date;
}

type Answer = readonly [status: number, body: unknown, checkpoint?: Checkpoint | undefined];
type Route = (pool: pg.Pool) => Promise<Answer>;

const checkpoint = async (pool: pg.Pool) => (await pool.query<Checkpoint>(CHECKPOINT, [LISTENER_CHECKPOINT])).rows[0];

const fund: Route = async (pool) => {
  const [snapshots, risks, sync] = await Promise.all([
    pool.query<Parameters<typeof presentFund>[0]>(LATEST_SNAPSHOT, [1]),
    pool.query<RiskAssessmentRow>(LATEST_RISK, [1]),
    checkpoint(pool),
  ]);
  const snapshot = snapshots.rows[0];
  if (!snapshot) return [404, { error: { code: "fund_not_indexed", message: "no fund state has been recorded yet" } }];
  return [200, presentFund(snapshot, sync, risks.rows[0]), sync];
};

const redemptions: Route = async (pool) => {
  const [page, sync] = await Promise.all([
    pool.query<Parameters<typeof redemptionPage>[0][number]>(REDEMPTIONS_PAGE, [PAGE_SIZE + 1]),
    checkpoint(pool),
  ]);
  return [200, redemptionPage(page.rows, PAGE_SIZE), sync];
};

/** The two routes of the anchor and the ceiling. */
const ROUTES: Readonly<Record<string, Route>> = { "/v1/fund": fund, "/v1/redemptions": redemptions };

function send(response: ServerResponse, [status, body, sync]: Answer): void {
  const json = Buffer.from(JSON.stringify(body));
  const headers: OutgoingHttpHeaders = {
    "content-type": "application/json; charset=utf-8",
    "content-length": json.length,
  };
  if (sync) headers[DATA_AGE_HEADER] = String(Math.floor(ageSeconds(sync.updated_at, new Date())));
  response.writeHead(status, headers);
  response.end(json);
}

const notFound = (method: string | undefined, url: string | undefined): Answer => [
  404,
  { error: { code: "not_found", message: `no route for ${method ?? "?"} ${url ?? "?"}` } },
];

/**
 * The anchor: what the API's two hottest reads cost without a framework or a cache — `node:http`,
 * a `pg` pool, per request the same queries the API would run uncached, the same JSON and the same
 * Paimon-Data-Age header.
 */
export function createBaselineServer(pool: pg.Pool): Server {
  return createServer((request, response) => {
    const route = request.method === "GET" && request.url !== undefined ? ROUTES[request.url] : undefined;
    if (!route) {
      send(response, notFound(request.method, request.url));
      return;
    }
    route(pool).then(
      (answer) => {
        send(response, answer);
      },
      (error: unknown) => {
        process.stderr.write(`baseline: ${error instanceof Error ? error.message : String(error)}\n`);
        send(response, [500, { error: { code: "internal_error", message: "internal error" } }]);
      },
    );
  });
}

/**
 * The ceiling: `node:http` answering each route with a body serialised once, at start — no
 * framework, no query, no JSON per request. What serving a cached body can cost at best here.
 */
export async function createCeilingServer(pool: pg.Pool): Promise<Server> {
  const bodies = new Map<string, { status: number; headers: OutgoingHttpHeaders; body: Buffer }>();
  for (const [url, route] of Object.entries(ROUTES)) {
    const [status, body] = await route(pool);
    const json = Buffer.from(JSON.stringify(body));
    bodies.set(url, {
      status,
      headers: { "content-type": "application/json; charset=utf-8", "content-length": json.length },
      body: json,
    });
  }
  return createServer((request, response) => {
    const answer = request.method === "GET" && request.url !== undefined ? bodies.get(request.url) : undefined;
    if (!answer) {
      send(response, notFound(request.method, request.url));
      return;
    }
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body);
  });
}
