/**
 * Runs a checklist: opens what the configuration names (Prometheus, PostgreSQL, Redis, the
 * backup store) once, runs every item against it, and closes it all. An item that throws is not
 * a pass: it is `unknown`, with what stopped it.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { pgConnection } from "@paimon/core/db";
import { Redis } from "ioredis";
import pg from "pg";
import { openStore } from "../store";
import type { CheckConfig } from "./config";
import { prometheusApi } from "./prometheus";
import { RuleBook } from "./rules";
import {
  NotConfigured,
  type CheckContext,
  type CheckItem,
  type CommandResult,
  type ItemResult,
  type Query,
} from "./types";

/** `pnpm audit` and `pnpm outdated` ask the registry about every dependency: minutes, not seconds. */
const COMMAND_TIMEOUT_MS = 300_000;

function runCommand(command: string, args: readonly string[], cwd: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { cwd, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
        resolve({ code, stdout, stderr: error !== null && code === null ? `${stderr}\n${error.message}` : stderr });
      },
    );
  });
}

/** Redis's INFO as `field` → value. */
const parseInfo = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(":") && !line.startsWith("#"))
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
  );

export interface OpenedContext {
  readonly context: CheckContext;
  close(): Promise<void>;
}

/** The context the items read, from the validated configuration; connections open on first use. */
export async function openCheckContext(config: CheckConfig, now: Date, since: Date): Promise<OpenedContext> {
  const prometheus = config.prometheusUrl ? prometheusApi(config.prometheusUrl, config.timeoutMs) : undefined;
  let rules: Promise<RuleBook> | undefined;
  let pool: pg.Pool | undefined;
  let redis: Redis | undefined;
  // The items ask side by side: a few connections, each statement bounded.
  const database: Query | undefined = config.databaseUrl
    ? async <Row extends object>(text: string, values: readonly unknown[] = []) => {
        pool ??= new pg.Pool({
          ...pgConnection(config.databaseUrl ?? "", { sslRootCert: config.sslRootCert }),
          max: 3,
          connectionTimeoutMillis: config.timeoutMs,
          statement_timeout: config.timeoutMs,
          application_name: "paimon-ops-check",
        });
        const result = await pool.query<Row>(text, [...values]);
        return result.rows;
      }
    : undefined;
  const context: CheckContext = {
    now,
    since,
    services: config.services,
    prometheus,
    rules: () => {
      if (!prometheus) return Promise.reject(new NotConfigured("PROMETHEUS_URL"));
      rules ??= prometheus.rules().then((loaded) => new RuleBook(loaded));
      return rules;
    },
    database,
    redis: config.redisUrl
      ? async () => {
          redis ??= new Redis(config.redisUrl ?? "", {
            lazyConnect: true,
            maxRetriesPerRequest: 1,
            connectTimeout: config.timeoutMs,
            commandTimeout: config.timeoutMs,
          });
          if (redis.status === "wait") await redis.connect();
          return parseInfo(await redis.info("memory"));
        }
      : undefined,
    store: config.backupTarget
      ? openStore(config.backupTarget, { region: config.awsRegion, s3Endpoint: config.s3Endpoint })
      : undefined,
    backupKinds: config.backupKinds,
    tlsEndpoints: config.tlsEndpoints,
    tlsCa: config.tlsCaFile ? await readFile(config.tlsCaFile, "utf8") : undefined,
    planFile: config.planFile,
    workspace: config.workspace,
    runCommand,
    timeoutMs: config.timeoutMs,
  };
  return {
    context,
    async close() {
      redis?.disconnect();
      await pool?.end();
    },
  };
}

/** Runs the items side by side; each answers for itself. */
export async function runItems(items: readonly CheckItem[], context: CheckContext): Promise<ItemResult[]> {
  return Promise.all(
    items.map(async (item): Promise<ItemResult> => {
      try {
        return { id: item.id, title: item.title, ...(await item.run(context)) };
      } catch (error) {
        const message =
          error instanceof NotConfigured
            ? `${error.key} is not set`
            : `could not be checked: ${error instanceof Error ? error.message : String(error)}`;
        return { id: item.id, title: item.title, status: "unknown", evidence: message, threshold: "" };
      }
    }),
  );
}
