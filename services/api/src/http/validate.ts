import { AppError } from "@paimon/core/errors";
import type { z } from "zod";

/** Parses request input against a schema; a mismatch is a 400 naming every bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, code: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new AppError(code, "the request is invalid", {
    status: 400,
    details: { issues: result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message })) },
  });
}

/**
 * A list of every member of the union `T`, as a tuple for `z.enum`: a member missing from the list
 * (one added to the schema's type later) fails to compile.
 */
export const everyOf =
  <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([T] extends [L[number]] ? unknown : never)): L =>
    list;
