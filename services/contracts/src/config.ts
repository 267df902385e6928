/**
 * `pnpm devnet`'s settings: a flag wins over the environment, the environment over the default.
 * Every bad value is reported at once, so one run shows everything to fix.
 */
import { parseArgs } from "node:util";
import { DEFAULT_CHAIN_ID } from "./devnet";

/** The port `pnpm devnet` listens on unless told otherwise: the one wallets and tools expect. */
export const DEFAULT_DEVNET_PORT = 8545;

export interface DevnetConfig {
  /** `--host` or `DEVNET_HOST`: the interface to bind (`0.0.0.0` in a container). @default 127.0.0.1 */
  readonly host: string;
  /** `--port` or `DEVNET_PORT`. @default 8545 */
  readonly port: number;
  /** `--chain-id` or `DEVNET_CHAIN_ID`. @default 31337 */
  readonly chainId: number;
  /** `--rpc-log` or `DEVNET_RPC_LOG=true`: print every RPC call the node serves. @default false */
  readonly rpcLog: boolean;
}

export const DEVNET_USAGE = "usage: pnpm devnet [--host <address>] [--port <1-65535>] [--chain-id <n>] [--rpc-log]";

export class DevnetConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`devnet: ${problems.join("; ")}\n${DEVNET_USAGE}`);
  }
}

function integer(name: string, raw: string | undefined, fallback: number, max: number, problems: string[]): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max) {
    problems.push(`${name} must be an integer from 1 to ${max}, got "${raw}"`);
    return fallback;
  }
  return value;
}

/** Reads `argv` (without node and the script) and `env`; throws a DevnetConfigError naming each bad value. */
export function loadDevnetConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): DevnetConfig {
  const problems: string[] = [];
  let flags: { host?: string; port?: string; "chain-id"?: string; "rpc-log"?: boolean } = {};
  try {
    flags = parseArgs({
      args: [...argv],
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "chain-id": { type: "string" },
        "rpc-log": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  const port = integer(
    flags.port === undefined ? "DEVNET_PORT" : "--port",
    flags.port ?? env.DEVNET_PORT,
    DEFAULT_DEVNET_PORT,
    65_535,
    problems,
  );
  const chainId = integer(
    flags["chain-id"] === undefined ? "DEVNET_CHAIN_ID" : "--chain-id",
    flags["chain-id"] ?? env.DEVNET_CHAIN_ID,
    DEFAULT_CHAIN_ID,
    Number.MAX_SAFE_INTEGER,
    problems,
  );
  const rpcLogEnv = env.DEVNET_RPC_LOG;
  if (rpcLogEnv !== undefined && rpcLogEnv !== "true" && rpcLogEnv !== "false") {
    problems.push(`DEVNET_RPC_LOG must be "true" or "false", got "${rpcLogEnv}"`);
  }
  const host = flags.host ?? env.DEVNET_HOST ?? "127.0.0.1";
  if (!/^(\d{1,3}\.){3}\d{1,3}$|^localhost$/.test(host)) {
    problems.push(`${flags.host === undefined ? "DEVNET_HOST" : "--host"} must be an IPv4 address, got "${host}"`);
  }
  if (problems.length > 0) throw new DevnetConfigError(problems);
  return Object.freeze({ host, port, chainId, rpcLog: flags["rpc-log"] ?? rpcLogEnv === "true" });
}
