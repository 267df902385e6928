import { AppError, toAppError } from "@paimon/core/errors";
import type { Logger } from "@paimon/core/logger";
import type { ErrorRequestHandler, Request, RequestHandler } from "express";

/** The one error shape of the API: `{ error: { code, message, details?, request_id } }`, never a stack trace. */
export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details?: unknown;
    readonly request_id?: string;
  };
}

/** body-parser's failures, by its `type`, as the API's codes. */
const BODY_ERRORS: Readonly<Record<string, [number, string, string]>> = {
  "entity.parse.failed": [400, "invalid_json", "the request body is not valid JSON"],
  "entity.too.large": [413, "payload_too_large", "the request body is too large"],
  "charset.unsupported": [415, "unsupported_charset", "the request body's charset must be utf-8"],
  "encoding.unsupported": [415, "unsupported_encoding", "the request body's content encoding is not supported"],
  "entity.verify.failed": [400, "invalid_body", "the request body was refused"],
  "request.size.invalid": [400, "invalid_body", "the request body's length does not match its Content-Length"],
};

/** body-parser's `type` when the client closed the connection before its body was all sent. */
const CLIENT_ABORTED = "request.aborted";

const typeOf = (error: unknown) => {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === "string" ? type : undefined;
};

function classify(error: unknown): AppError {
  const type = typeOf(error);
  if (type !== undefined && type in BODY_ERRORS) {
    const [status, code, message] = BODY_ERRORS[type] as [number, string, string];
    return new AppError(code, message, { status, cause: error });
  }
  // The router could not percent-decode a path parameter (`/v1/redemptions/%ZZ`): the client's fault.
  if (error instanceof URIError && (error as { status?: unknown }).status === 400) {
    return new AppError("invalid_path", "the request path is not valid percent-encoded UTF-8", {
      status: 400,
      cause: error,
    });
  }
  return toAppError(error);
}

/**
 * Express's default handler prints HTML stack traces; this one answers JSON. Server faults are
 * logged as errors; a retryable outage (the database unavailable) as a warning, with its
 * Retry-After sent; client faults not at all.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _request, response, next) => {
    const requestId = response.locals["requestId"] as string | undefined;
    if (typeOf(error) === CLIENT_ABORTED) {
      // Nobody is left to answer: not a fault of the server, and a client may cause any number.
      logger.debug("client aborted the request", { request_id: requestId });
      return;
    }
    if (response.headersSent) {
      next(error);
      return;
    }
    const appError = classify(error);
    const internal = appError.status >= 500 && !appError.retryable;
    if (internal)
      logger.error("request failed", { error: appError.cause ?? appError, request_id: requestId, code: appError.code });
    else if (appError.status >= 500)
      logger.warn("request failed", { error: appError.cause ?? appError, request_id: requestId, code: appError.code });
    if (appError.retryAfterSeconds !== undefined) response.setHeader("retry-after", String(appError.retryAfterSeconds));
    const body: ErrorBody = {
      error: {
        code: appError.code,
        message: internal ? "internal error" : appError.message,
        ...(appError.details && appError.status < 500 ? { details: appError.details } : {}),
        ...(requestId ? { request_id: requestId } : {}),
      },
    };
    response.status(appError.status).json(body);
  };
}

export const notFound: RequestHandler = (request, _response, next) => {
  next(new AppError("not_found", `no route for ${request.method} ${request.path}`, { status: 404 }));
};

/** Whether a request announces a body at all (body-parser's own test): every GET of the read API does not. */
export const announcesBody = (request: Request) =>
  request.headers["content-length"] !== undefined || request.headers["transfer-encoding"] !== undefined;

/** Bodies are JSON, UTF-8, or nothing. */
export const requireJsonBody: RequestHandler = (request, _response, next) => {
  const hasBody =
    Number(request.headers["content-length"] ?? 0) > 0 || request.headers["transfer-encoding"] !== undefined;
  if (hasBody && !request.is("application/json")) {
    next(new AppError("unsupported_media_type", "request bodies must be application/json", { status: 415 }));
    return;
  }
  next();
};
