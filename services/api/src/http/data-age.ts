import type { Response } from "express";

/**
 * How old the chain-derived data of a response is: whole seconds since the chain follower last
 * committed a block (its checkpoint's `updated_at`). Absent while nothing is indexed yet. Clients
 * see staleness here; readiness does not fail on it (every replica serves the same data).
 */
export const DATA_AGE_HEADER = "Paimon-Data-Age";

/** Sets DATA_AGE_HEADER from the checkpoint, if there is one. */
export function setDataAge(response: Response, checkpoint: { readonly updated_at: Date } | undefined): void {
  if (checkpoint)
    response.setHeader(DATA_AGE_HEADER, String(Math.floor(ageSeconds(checkpoint.updated_at, new Date()))));
}

/** Seconds from `then` to `now`, never negative (the clocks of two hosts differ a little). */
export const ageSeconds = (then: Date, now: Date): number => Math.max(0, (now.getTime() - then.getTime()) / 1000);
