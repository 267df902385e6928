/**
 * JSON-RPC over HTTP, with what following a chain needs from it: every call timed by method and
 * outcome, errors classified (a range too wide, a rate limit, no usable answer, anything else),
 * and rate limits and transient failures retried with exponential backoff and full jitter. Each
 * attempt has a deadline of its own (a timer it holds and clears, covering the body too), so a
 * call settles within `rpcCallBoundMs` however the node misbehaves — a node that accepts and never
 * answers included. Errors name the endpoint by its variable and host only; credentials in the
 * URL are sent as basic authentication. Requests go over node:http (http-post.ts), not `fetch`,
 * whose per-chunk streams cost a backfill more than parsing its answers. Logs are returned raw
 * and decoded by the caller with the contract's ethers `Interface`.
 */
import { AppError } from "@paimon/core/errors";
import { backOff } from "exponential-backoff";
import type { Histogram } from "prom-client";
import { createHttpPoster, type HttpAnswer } from "./http-post";

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
export class RangeTooWideError extends AppError {
  constructor(message: string) {
    super("rpc_range_too_wide", message, { status: 502, retryable: true });
    this.name = "RangeTooWideError";
  }
}
/** The node (or its gateway) said to slow down: HTTP 429 or a JSON-RPC limit error. */
export class RateLimitedError extends AppError {
  constructor(message: string) {
    super("rpc_rate_limited", message, { status: 503, retryable: true });
    this.name = "RateLimitedError";
  }
}
/** The node answered with an error of its own (`rpcCode`, the JSON-RPC error code): asking again will not help. */
export class RpcError extends AppError {
  constructor(
    message: string,
    readonly rpcCode?: number,
  ) {
    super("rpc_error", message, {
      status: 502,
      retryable: false,
      ...(rpcCode === undefined ? {} : { details: { rpcCode } }),
    });
    this.name = "RpcError";
  }
}

const RANGE_MESSAGES =
  /range|too many (blocks|results)|more than \d+ results|limit exceeded|response size|query returned more than/i;
const RATE_MESSAGES = /rate limit|too many requests|exceeded .*capacity|request limit/i;

/**
 * The node gave no usable answer: the connection failed or was reset, no answer came within the
 * request's deadline, or it answered with a 5xx. Names the endpoint by its variable and host
 * only — a node URL's path, query or credentials may hold an API key.
 */
export class RpcUnavailableError extends AppError {
  constructor(message: string) {
    super("rpc_unavailable", message, { status: 503, retryable: true });
    this.name = "RpcUnavailableError";
  }
}

/** Whether `error` came from the node (or the way to it), rather than from the database or a bug. */
export const isRpcFailure = (error: unknown): boolean =>
  error instanceof RpcUnavailableError ||
  error instanceof RpcError ||
  error instanceof RateLimitedError ||
  error instanceof RangeTooWideError;

export interface RpcClientOptions {
  readonly url: string;
  /**
   * How errors name the endpoint, as in "BSC_RPC_URL (host)": the variable the URL came from.
   * @default "the RPC node"
   */
  readonly name?: string;
  readonly duration?: Histogram<"method" | "outcome">;
  /** Attempts for rate-limited or failed calls before giving up. @default 8 */
  readonly attempts?: number;
  /** First backoff delay; doubled each attempt, with full jitter. @default 100 */
  readonly startingDelayMs?: number;
  /** @default 10_000 */
  readonly maxDelayMs?: number;
  /** Each attempt's deadline, from sending the request to the end of its body. @default 10_000 */
  readonly timeoutMs?: number;
  /** Aborts requests in flight and stops retrying (shutdown). */
  readonly signal?: AbortSignal;
}

export const RPC_DEFAULTS = { attempts: 8, startingDelayMs: 100, maxDelayMs: 10_000, timeoutMs: 10_000 } as const;

/**
 * The longest one call can take before it settles, every attempt timing out and every backoff
 * delay at its ceiling: what a caller (or a test) can count on.
 */
export function rpcCallBoundMs(
  options: Pick<RpcClientOptions, "attempts" | "startingDelayMs" | "maxDelayMs" | "timeoutMs"> = {},
): number {
  const attempts = options.attempts ?? RPC_DEFAULTS.attempts;
  const starting = options.startingDelayMs ?? RPC_DEFAULTS.startingDelayMs;
  const max = options.maxDelayMs ?? RPC_DEFAULTS.maxDelayMs;
  let delays = 0;
  // exponential-backoff waits before attempt k + 2 (k = 0 … n-2) at most startingDelay × 2^k, capped.
  for (let k = 0; k < attempts - 1; k++) delays += Math.min(starting * 2 ** k, max);
  return attempts * (options.timeoutMs ?? RPC_DEFAULTS.timeoutMs) + delays;
}

/** A URL part as it was meant (percent-decoded), or as it is if it does not decode. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The URL to send requests to (no credentials in it) and the header they become. */
function splitCredentials(url: URL): { target: URL; authorization: string | undefined } {
  if (url.username === "" && url.password === "") return { target: url, authorization: undefined };
  const credentials = `${decoded(url.username)}:${decoded(url.password)}`;
  const bare = new URL(url.href);
  bare.username = "";
  bare.password = "";
  return { target: bare, authorization: `Basic ${Buffer.from(credentials).toString("base64")}` };
}

/** Why a request failed, in words that carry none of the URL's secrets. */
function transportReason(error: unknown, url: URL): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  let reason = cause instanceof Error ? cause.message : String(cause);
  if (typeof code === "string" && !reason.includes(code)) reason = `${code}: ${reason}`;
  // Whatever a lower layer put in its message, nothing of the URL but its host leaves here.
  const secrets = [url.href, url.pathname.length > 1 ? url.pathname : "", url.search, url.username, url.password];
  for (const secret of [...secrets, ...secrets.map(decoded)]) {
    if (secret !== "") reason = reason.split(secret).join("…");
  }
  return reason;
}

export interface RpcClient {
  /** The endpoint as errors name it: its variable and host, as "BSC_RPC_URL (host:port)". */
  readonly endpoint: string;
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
  const url = new URL(options.url);
  const { target, authorization } = splitCredentials(url);
  // The endpoint as errors show it: its variable and host (with port), nothing else of the URL.
  const endpoint = `${options.name ?? "the RPC node"} (${url.host})`;
  const timeoutMs = options.timeoutMs ?? RPC_DEFAULTS.timeoutMs;
  const attempts = options.attempts ?? RPC_DEFAULTS.attempts;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (authorization !== undefined) headers["authorization"] = authorization;
  const poster = createHttpPoster(target, headers);
  /** A failure to get any answer, named by the endpoint's variable and host. */
  const unreachable = (error: unknown, method: string, signal: AbortSignal): Error => {
    if (signal.aborted && signal.reason instanceof RpcUnavailableError) return signal.reason;
    if (signal.aborted && options.signal?.aborted === true)
      return error instanceof Error ? error : new Error(String(error));
    return new RpcUnavailableError(`${endpoint}: ${method}: ${transportReason(error, url)}`);
  };
  let id = 0;
  const once = async <T>(method: string, params: readonly unknown[]): Promise<T> => {
    // The request's own deadline: a timer this call holds and clears, not a signal something
    // else owns (Node 20 could collect `AbortSignal.timeout` inside `AbortSignal.any`, and a node
    // that accepted the connection and never answered then hung the listener forever).
    const deadline = new AbortController();
    const timedOut = new RpcUnavailableError(`${endpoint}: ${method}: no answer within ${String(timeoutMs)} ms`);
    const timer = setTimeout(() => {
      deadline.abort(timedOut);
    }, timeoutMs);
    const stopping = options.signal;
    const onStop = () => {
      deadline.abort(stopping?.reason);
    };
    if (stopping?.aborted === true) onStop();
    else stopping?.addEventListener("abort", onStop, { once: true });
    const stop = options.duration?.startTimer({ method });
    let outcome = "error";
    try {
      let response: HttpAnswer;
      try {
        response = await poster.post(
          JSON.stringify({ jsonrpc: "2.0", id: (id += 1), method, params }),
          deadline.signal,
          // A 5xx or a 429 is decided by its status: its body is not read.
          (status) => status < 500 && status !== 429,
        );
      } catch (error) {
        // The deadline covers the body too: a node that sends its headers and stalls times out here.
        throw unreachable(error, method, deadline.signal);
      }
      if (response.status >= 500) {
        // A gateway or node in trouble: worth another try, unlike a JSON-RPC error.
        outcome = "server_error";
        throw new RpcUnavailableError(`${endpoint}: ${method}: HTTP ${String(response.status)}`);
      }
      if (response.status === 429) {
        outcome = "rate_limited";
        throw new RateLimitedError(`${method}: HTTP 429`);
      }
      let body: { result?: T; error?: { code?: number; message?: string } };
      try {
        body = JSON.parse(response.body) as typeof body;
      } catch {
        throw new RpcUnavailableError(
          `${endpoint}: ${method}: the answer is not JSON (HTTP ${String(response.status)})`,
        );
      }
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
      if (response.status < 200 || response.status > 299)
        throw new RpcError(`${method}: HTTP ${String(response.status)}`);
      outcome = "ok";
      return body.result as T;
    } finally {
      clearTimeout(timer);
      stopping?.removeEventListener("abort", onStop);
      stop?.({ outcome });
    }
  };
  const call = <T>(method: string, params: readonly unknown[]) =>
    backOff(
      () => {
        // Shutdown during a backoff delay: no further attempt.
        if (options.signal?.aborted === true) return Promise.reject(options.signal.reason as Error);
        return once<T>(method, params);
      },
      {
        numOfAttempts: attempts,
        startingDelay: options.startingDelayMs ?? RPC_DEFAULTS.startingDelayMs,
        maxDelay: options.maxDelayMs ?? RPC_DEFAULTS.maxDelayMs,
        jitter: "full",
        // A range error is the caller's to handle (it narrows); a JSON-RPC error is an answer.
        retry: (error: unknown) =>
          options.signal?.aborted !== true && !(error instanceof RangeTooWideError) && !(error instanceof RpcError),
      },
    ).catch((error: unknown) => {
      // After the last attempt, the error says how many there were.
      if (error instanceof RpcUnavailableError && attempts > 1) {
        throw new RpcUnavailableError(`${error.message} (${String(attempts)} attempts)`);
      }
      throw error;
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
    endpoint,
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
