import http from "node:http";
import type { RequestListener } from "node:http";

/**
 * The HTTP server's timeouts. Behind the ALB (idle timeout 60 s) and CloudFront, and reachable
 * directly inside the cluster: a client that sends a request slowly must not hold a connection
 * and a handler for minutes (Node's defaults: 300 s for a request, checked every 30 s).
 */
export const SERVER_TIMEOUTS = {
  /** A request's headers must all arrive within this of its first byte; else 408 and close (slowloris). */
  headersMs: 10_000,
  /**
   * A whole request — headers and its body (at most 16 kB) — must arrive within this of its first
   * byte; else 408 and close. It bounds receiving the request, not answering it: the database
   * timeouts bound that. Node requires headersMs ≤ this.
   */
  requestMs: 30_000,
  /**
   * How long an idle keep-alive connection stays open: longer than the load balancer's idle
   * timeout, so the server never closes a connection the balancer is about to reuse. (Node since
   * 18 times headers per request, from its first byte, so headersMs no longer has to exceed this,
   * as it had to when the headers timer ran across a keep-alive connection's idle time.)
   */
  keepAliveMs: 65_000,
  /** How often Node checks the two request timeouts: a slow request is cut at most this late. */
  checkIntervalMs: 1_000,
} as const;

/** The API's server with SERVER_TIMEOUTS; it does not listen yet. */
export function createHttpServer(listener: RequestListener): http.Server {
  const server = http.createServer(
    {
      headersTimeout: SERVER_TIMEOUTS.headersMs,
      requestTimeout: SERVER_TIMEOUTS.requestMs,
      connectionsCheckingInterval: SERVER_TIMEOUTS.checkIntervalMs,
    },
    listener,
  );
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveMs;
  return server;
}
