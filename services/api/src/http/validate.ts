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
