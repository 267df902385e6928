import type { Request, Response } from "express";
import { ipKeyGenerator } from "express-rate-limit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rateLimitKey } from "./client-address";

/** A request from `address` (the TCP peer), not through the edge. */
const from = (address: string) =>
  [
    { socket: { remoteAddress: address }, get: () => undefined } as unknown as Request,
    { locals: {} } as unknown as Response,
  ] as const;

describe("the rate limiter's key", () => {
  it("when the peer is any IPv4, IPv4-mapped, IPv4-compatible or IPv6 address, then the key is the one ipKeyGenerator makes", () => {
    const ipv4 = fc.ipV4();
    const address = fc.oneof(
      ipv4,
      ipv4.map((ip) => `::ffff:${ip}`),
      ipv4.map((ip) => `::FFFF:${ip}`),
      ipv4.map((ip) => `::${ip}`),
      fc.ipV6(),
    );
    fc.assert(
      fc.property(address, (ip) => {
        expect(rateLimitKey(...from(ip))).toBe(ipKeyGenerator(ip));
      }),
      { numRuns: 2_000 },
    );
  });
});
