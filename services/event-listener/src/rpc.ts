/**
 * JSON-RPC over HTTP, with what following a chain needs from it: every call timed by method and
 * outcome, errors classified (a range too wide, a rate limit, anything else), and rate limits and
 * transient failures retried with exponential backoff and full jitter. Logs are returned raw and
 * decoded by the caller with the contract's ethers `Interface`.
 */
import { backOff } from "exponential-backoff";
import type { Histogram } from "prom-client";

export interface RawLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: string;
  readonly blockHash: string;
  readonly transactionHash: string;
  readonly logIndex: string;
  readonly removed?: boolean;
}

export interface BlockHeader {
  readonly number: bigint;
  readonly hash: string;
  readonly parentHash: string;
  readonly timestamp: number;
}

/** The node refused the range: too many blocks or results. The caller narrows and asks again. */
export class RangeTooWideError extends Error {}
/** The node (or its gateway) said to slow down: HTTP 429 or a JSON-RPC limit error. */
export class RateLimitedError extends Error {}
export class RpcError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

const RANGE_MESSAGES =
  /range|too many (blocks|results)|more than \d+ results|limit exceeded|response size|query returned more than/i;
const RATE_MESSAGES = /rate limit|too many requests|exceeded .*capacity|request limit/i;

export interface RpcClientOptions {
  readonly url: string;
  readonly duration?: Histogram<"method" | "outcome">;
  /** Attempts for rate-limited or failed calls before giving up. @default 8 */
  readonly attempts?: number;
  /** First backoff delay; doubled each attempt, with full jitter. @default 100 */
  readonly startingDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly timeoutMs?: number;
  /** Aborts requests in flight and stops retrying (shutdown). */
  readonly signal?: AbortSignal;
}

export interface RpcClient {
  call<T>(method: string, params: readonly unknown[]): Promise<T>;
  chainId(): Promise<number>;
  blockNumber(): Promise<bigint>;
  /** The `finalized` block's number, or undefined where the node does not know the tag. */
  finalizedNumber(): Promise<bigint | undefined>;
  block(tag: bigint | "latest"): Promise<BlockHeader | undefined>;
  logs(
    filter: { address: string; fromBlock: bigint; toBlock: bigint } | { address: string; blockHash: string },
  ): Promise<RawLog[]>;
}

const hex = (value: bigint) => `0x${value.toString(16)}`;

export function createRpcClient(options: RpcClientOptions): RpcClient {
  let id = 0;
  const once = async <T>(method: string, params: readonly unknown[]): Promise<T> => {
    const stop = options.duration?.startTimer({ method });
    let outcome = "error";
    try {
      const response = await fetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: (id += 1), method, params }),
        signal: options.signal
          ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)])
          : AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      if (response.status >= 500) {
        // A gateway or node in trouble: worth another try, unlike a JSON-RPC error.
        outcome = "server_error";
        await response.body?.cancel();
        throw new Error(`${method}: HTTP ${String(response.status)}`);
      }
      if (response.status === 429) {
        outcome = "rate_limited";
        await response.body?.cancel();
        throw new RateLimitedError(`${method}: HTTP 429`);
      }
      const body = (await response.json()) as { result?: T; error?: { code?: number; message?: string } };
      if (body.error) {
        const message = `${method}: ${body.error.message ?? "error"} (${String(body.error.code ?? "?")})`;
        if (RATE_MESSAGES.test(body.error.message ?? "") || body.error.code === -32005) {
          // -32005 is "limit exceeded": a range error when the message says so, else a rate limit.
          if (RANGE_MESSAGES.test(body.error.message ?? "") && method === "eth_getLogs") {
            outcome = "range_error";
            throw new RangeTooWideError(message);
          }
          outcome = "rate_limited";
          throw new RateLimitedError(message);
        }
        if (method === "eth_getLogs" && RANGE_MESSAGES.test(body.error.message ?? "")) {
          outcome = "range_error";
          throw new RangeTooWideError(message);
        }
        throw new RpcError(message, body.error.code);
      }
      if (!response.ok) throw new RpcError(`${method}: HTTP ${String(response.status)}`);
      outcome = "ok";
      return body.result as T;
    } finally {
      stop?.({ outcome });
    }
  };
  const call = <T>(method: string, params: readonly unknown[]) =>
    backOff(() => once<T>(method, params), {
      numOfAttempts: options.attempts ?? 8,
      startingDelay: options.startingDelayMs ?? 100,
      maxDelay: options.maxDelayMs ?? 10_000,
      jitter: "full",
      // A range error is the caller's to handle (it narrows); a JSON-RPC error is an answer.
      retry: (error: unknown) =>
        options.signal?.aborted !== true && !(error instanceof RangeTooWideError) && !(error instanceof RpcError),
    });
  const toHeader = (raw: { number: string; hash: string; parentHash: string; timestamp: string } | null) =>
    raw
      ? {
          number: BigInt(raw.number),
          hash: raw.hash,
          parentHash: raw.parentHash,
          timestamp: Number(BigInt(raw.timestamp)),
        }
      : undefined;
  return {
    call,
    chainId: async () => Number(BigInt(await call<string>("eth_chainId", []))),
    blockNumber: async () => BigInt(await call<string>("eth_blockNumber", [])),
    async finalizedNumber() {
      try {
        return toHeader(await call("eth_getBlockByNumber", ["finalized", false]))?.number;
      } catch (error) {
        if (error instanceof RpcError) return undefined;
        throw error;
      }
    },
    block: async (tag) => toHeader(await call("eth_getBlockByNumber", [tag === "latest" ? tag : hex(tag), false])),
    logs: (filter) =>
      call<RawLog[]>("eth_getLogs", [
        "blockHash" in filter
          ? filter
          : { address: filter.address, fromBlock: hex(filter.fromBlock), toBlock: hex(filter.toBlock) },
      ]),
  };
}
