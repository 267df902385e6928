/**
 * Keyset pages, the one way every list of the API pages: a cursor is the last row's position
 * (a tuple, JSON, base64url-encoded), checked against its schema when it comes back — one this
 * API did not issue is a 400 `invalid_cursor` — and a page is read one row long, so that whether
 * a next page exists is known without counting.
 */
import { AppError } from "@paimon/core/errors";
import type { z } from "zod";

export interface CursorCodec<T> {
  encode(position: T): string;
  decode(cursor: string): T;
}

/** A cursor for positions of `schema`'s shape. */
export function cursorCodec<T>(schema: z.ZodType<T>): CursorCodec<T> {
  return {
    encode: (position) => Buffer.from(JSON.stringify(position)).toString("base64url"),
    decode(cursor) {
      try {
        return schema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
      } catch (error) {
        throw new AppError("invalid_cursor", "the cursor is not one this API issued", { status: 400, cause: error });
      }
    },
  };
}

/** The page of `rows` (read `limit + 1` long) and the cursor of the next one, or null. */
export function keysetPage<R>(
  rows: readonly R[],
  limit: number,
  cursorOf: (last: R) => string,
): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
