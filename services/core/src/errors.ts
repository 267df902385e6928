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

  constructor(
    code: string,
    message: string,
    options: { status?: number; retryable?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** Wraps anything thrown into an AppError; unknown failures are internal and not retryable. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError("internal_error", "internal error", { cause: error });
}
