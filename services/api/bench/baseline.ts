import { createServer, type Server, type ServerResponse } from "node:http";
import type pg from "pg";
import { ratio } from "@paimon/core/fund";
import type { RiskAssessmentRow } from "@paimon/core/db";
import { presentRisk } from "../src/fund/fund.routes";
import { encodeCursor } from "../src/redemptions/redemptions.routes";

/** The SQL Kysely compiles for the API's `latestSnapshot`, `latestAssessment` and first `listRedemptions` page. */
const LATEST_SNAPSHOT = 'select * from "fund_snapshots" order by "recorded_at" desc, "id" desc limit $1';
const LATEST_RISK =
  'select * from "metrics"."risk_assessments" order by "block_number" desc, "assessed_at" desc limit $1';
const REDEMPTIONS_PAGE = 'select * from "redemptions" order by "created_at" desc, "id" desc limit $1';
/** The API's default page size. */
const PAGE_SIZE = 20;

interface SnapshotRow {
  nav: string;
  block_number: string;
  recorded_at: Date;
  l1_value: string;
  l2_value: string;
  l3_value: string;
}
interface RedemptionRow {
  id: string;
  owner: string;
  shares: string;
  assets: string;
  channel: string;
  status: string;
  requested_block: string;
  requested_tx: string;
  resolved_block: string | null;
  created_at: Date;
  updated_at: Date;
}

async function fund(pool: pg.Pool): Promise<[number, unknown]> {
  const [snapshots, risks] = await Promise.all([
    pool.query<SnapshotRow>(LATEST_SNAPSHOT, [1]),
    pool.query<RiskAssessmentRow>(LATEST_RISK, [1]),
  ]);
  const snapshot = snapshots.rows[0];
  const risk = risks.rows[0];
  if (!snapshot) return [404, { error: { code: "fund_not_indexed", message: "no fund state has been recorded yet" } }];
  return [
    200,
    {
      nav: snapshot.nav,
      as_of_block: snapshot.block_number,
      as_of: snapshot.recorded_at.toISOString(),
      layers: [
        { layer: "L1", value: snapshot.l1_value, ratio: ratio(snapshot.l1_value, snapshot.nav) ?? "0.000000" },
        { layer: "L2", value: snapshot.l2_value, ratio: ratio(snapshot.l2_value, snapshot.nav) ?? "0.000000" },
        { layer: "L3", value: snapshot.l3_value, ratio: ratio(snapshot.l3_value, snapshot.nav) ?? "0.000000" },
      ],
      risk: risk ? presentRisk(risk) : null,
    },
  ];
}

async function redemptions(pool: pg.Pool): Promise<[number, unknown]> {
  const { rows } = await pool.query<RedemptionRow>(REDEMPTIONS_PAGE, [PAGE_SIZE + 1]);
  const page = rows.slice(0, PAGE_SIZE);
  const last = page.at(-1);
  return [
    200,
    {
      data: page.map((row) => ({
        id: row.id,
        owner: row.owner,
        shares: row.shares,
        assets: row.assets,
        channel: row.channel,
        status: row.status,
        requested_block: row.requested_block,
        requested_tx: row.requested_tx,
        resolved_block: row.resolved_block,
        created_at: row.created_at.toISOString(),
        updated_at: row.updated_at.toISOString(),
      })),
      next_cursor: rows.length > PAGE_SIZE && last ? encodeCursor(last) : null,
    },
  ];
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(json),
  });
  response.end(json);
}

/**
 * What the API's two hottest reads cost without a framework: `node:http`, a `pg` pool, the same
 * queries and the same JSON. The API's throughput over this one is the framework's overhead.
 */
export function createBaselineServer(pool: pg.Pool): Server {
  return createServer((request, response) => {
    const route =
      request.method === "GET" && request.url === "/v1/fund"
        ? fund
        : request.method === "GET" && request.url === "/v1/redemptions"
          ? redemptions
          : undefined;
    if (!route) {
      send(response, 404, { error: { code: "not_found", message: `no route for ${request.method} ${request.url}` } });
      return;
    }
    route(pool).then(
      ([status, body]) => {
        send(response, status, body);
      },
      (error: unknown) => {
        process.stderr.write(`baseline: ${error instanceof Error ? error.message : String(error)}\n`);
        send(response, 500, { error: { code: "internal_error", message: "internal error" } });
      },
    );
  });
}
