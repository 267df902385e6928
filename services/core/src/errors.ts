/**
 * The one error type of the services: a stable machine-readable `code`, the HTTP status it maps
 * to, whether retrying can help (RPC and Redis hiccups can; bad input cannot), and its cause.
 * The HTTP error middleware, the queue workers and the process-level handlers all read it.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** For a retryable failure: when a client may try again (HTTP's `Retry-After`), in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: string,
    message: string,
    options: {
      status?: number;
      retryable?: boolean;
      cause?: unknown;
      details?: Record<string, unknown>;
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** How long a client is asked to wait before retrying while the database cannot serve. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * SQLSTATEs of a database that cannot serve now but may shortly: the server shutting down or
 * restarting (57P01 admin_shutdown — also `pg_terminate_backend` —, 57P02 crash_shutdown, 57P03
 * cannot_connect_now, a failover), out of connection slots (53300), a statement cancelled by
 * `statement_timeout` (57014), and every connection exception (class 08).
 */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300", "57014"]);
/** Socket and DNS failures reaching the database. */
const UNAVAILABLE_SYSTEM_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);
/** node-postgres' and pg-pool's own messages for a lost, unreachable or silent connection. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect$/, // no free connection in the pool in time
  /^Query read timeout$/, // the client's query_timeout
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

/** The error and what it wraps (`cause`, an AggregateError's errors: a dual-stack connect), breadth first. */
function* chain(error: unknown): Generator {
  const queue = [error];
  for (let seen = 0; queue.length > 0 && seen < 16; seen += 1) {
    const next = queue.shift();
    yield next;
    if (next instanceof AggregateError) queue.push(...(next.errors as unknown[]));
    if (next instanceof Error && next.cause !== undefined) queue.push(next.cause);
  }
}

/** Whether `error` says PostgreSQL is unreachable, went away or timed out: a retry later may succeed. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const link of chain(error)) {
    if (!(link instanceof Error) || link instanceof AppError) continue;
    const code = (link as { code?: unknown }).code;
    if (typeof code === "string" && (UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    if (typeof code === "string" && UNAVAILABLE_SYSTEM_CODES.has(code)) return true;
    if (UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(link.message))) return true;
  }
  return false;
}

/**
 * Wraps anything thrown into an AppError: a database that cannot serve is a retryable 503
 * `database_unavailable` with a Retry-After; other unknown failures are internal and not retryable.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isDatabaseUnavailable(error)) {
    return new AppError("database_unavailable", "the database is unavailable; retry shortly", {
      status: 503,
      retryable: true,
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
      cause: error,
    });
  }
  return new AppError("internal_error", "internal error", { cause: error });
}
