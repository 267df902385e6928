import { randomUUID } from "node:crypto";
import type { Metrics } from "@paimon/core/metrics";
import type { Request, RequestHandler, Response } from "express";

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Takes a well-formed `X-Request-Id` or makes one, and echoes it. */
export function identify(request: Request, response: Response): void {
  const given = request.headers["x-request-id"];
  const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
  response.locals["requestId"] = id;
  response.setHeader("x-request-id", id);
}

/** Records each request's duration under its route template (`/v1/redemptions/:id`), never its raw path. */
export function requestMetrics(histogram: Metrics["paimon_http_request_duration_seconds"]): RequestHandler {
  return (request, response, next) => {
    const stop = histogram.startTimer();
    response.on("finish", () => {
      const route = (request.route as { path?: string } | undefined)?.path;
      stop({
        method: request.method,
        route: route === undefined ? "unmatched" : `${request.baseUrl}${route}`,
        status: String(response.statusCode),
      });
    });
    next();
  };
}
