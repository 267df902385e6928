import { isIP } from "node:net";
import type { Request, Response } from "express";
import { ipKeyGenerator } from "express-rate-limit";

/** `response.locals` key set by requireOrigin: the request carried CloudFront's origin secret. */
export const VIA_EDGE = "viaEdge";

/**
 * CloudFront's `CloudFront-Viewer-Address`: the viewer's IP and source port, as
 * `198.51.100.10:46532`, or for IPv6 `2001:db8::1:46532` (the port after the last colon) — also
 * accepted bracketed, `[2001:db8::1]:46532`. Undefined unless it holds an IP address and a port.
 */
export function parseViewerAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(value);
  const colon = value.lastIndexOf(":");
  const address = bracketed
    ? bracketed[1]
    : colon > 0 && /^\d{1,5}$/.test(value.slice(colon + 1))
      ? value.slice(0, colon)
      : undefined;
  return address !== undefined && isIP(address) !== 0 ? address : undefined;
}

/**
 * The client a request comes from, for rate limiting. Behind the edge (the request carried the
 * origin secret: only CloudFront can have sent it), the viewer's address CloudFront wrote; else
 * (development, no edge) the TCP peer. Never `X-Forwarded-For`: its first entry is whatever the
 * client wrote. Without a viewer address from the edge, the peer is the load balancer: all such
 * requests share one limit — a misconfigured origin request policy shows as 429s, not as a limit
 * anyone can step around.
 */
export function clientAddress(request: Request, response: Response): string {
  const viewer =
    response.locals[VIA_EDGE] === true ? parseViewerAddress(request.get("cloudfront-viewer-address")) : undefined;
  return viewer ?? request.socket.remoteAddress ?? "unknown";
}

/** An IPv4 address as a dual-stack socket reports it (`::ffff:198.51.100.10`), or plainly. */
const IPV4 = /^(?:::ffff:)?(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * The rate limiter's key of a request: its client address, an IPv6 one by its /56 (one subscriber
 * holds a whole prefix, and would otherwise have 2^72 keys to spread over). The limiter's memory
 * is thus bounded by the distinct real clients of a window, whatever headers they send. An IPv4
 * address — most requests, and every one a dual-stack socket maps into `::ffff:0:0/96` — is its
 * own key, as `ipKeyGenerator` would make it, without parsing it as IPv6 on every request.
 */
export const rateLimitKey = (request: Request, response: Response): string => {
  const address = clientAddress(request, response);
  const ipv4 = IPV4.exec(address)?.[1];
  return ipv4 !== undefined && isIP(ipv4) === 4 ? ipv4 : ipKeyGenerator(address);
};
