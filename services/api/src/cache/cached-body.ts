import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import { setDataAge } from "../http/data-age";

/** A response body serialised once per commit: a hit sends these bytes and does no JSON work. */
export interface CachedBody {
  readonly body: Buffer;
  /** A strong validator of the bytes: equal bodies (on any replica) have equal tags. */
  readonly etag: string;
}

/**
 * A per-block body may change with the next commit, a few seconds away: a client or the edge may
 * keep it but must revalidate before each reuse (a 304 costs the API no JSON and no query), so no
 * one is served a body older than the last commit by a cache of theirs either.
 */
export const CACHE_CONTROL = "no-cache";

export function cachedBody(json: unknown): CachedBody {
  const body = Buffer.from(JSON.stringify(json));
  // Hashed once per body built, never per request: the tag follows the content exactly.
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
}

/**
 * Sends a cached body with its validators and the data's age (from the checkpoint it was built
 * at, as current as the last signal); 304 without a body when the client's `If-None-Match` holds
 * its tag.
 */
export function sendCached(
  request: Request,
  response: Response,
  cached: CachedBody,
  checkpoint: { readonly updated_at: Date } | undefined,
): void {
  setDataAge(response, checkpoint);
  response.setHeader("cache-control", CACHE_CONTROL);
  response.setHeader("etag", cached.etag);
  if (request.fresh) {
    response.statusCode = 304;
    response.end();
    return;
  }
  response.setHeader("content-type", "application/json; charset=utf-8");
  response.setHeader("content-length", cached.body.length);
  response.end(cached.body);
}
