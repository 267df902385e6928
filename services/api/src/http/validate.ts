import { AppError } from "@paimon/core/errors";
import type { z } from "zod";

interface Issue {
  readonly path: string;
  readonly message: string;
}

/** A UTF-16 surrogate without its other half: no UTF-8 encodes it (PostgreSQL would store U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const TEXT_MESSAGE = "must not contain NUL characters or unpaired UTF-16 surrogates";
const MAX_TEXT_ISSUES = 20;

const isIllFormed = (text: string) => text.includes("\u0000") || LONE_SURROGATE.test(text);

/**
 * Every string of `input` (values and keys, at any depth) that PostgreSQL cannot store as text:
 * one with NUL (refused: SQLSTATE 22021) or with an unpaired surrogate (silently replaced). Walked
 * with a stack, not recursion: a deeply nested body cannot overflow it.
 */
function textIssues(input: unknown): Issue[] {
  const issues: Issue[] = [];
  const stack: [unknown, readonly (string | number)[]][] = [[input, []]];
  for (let next = stack.pop(); next !== undefined && issues.length < MAX_TEXT_ISSUES; next = stack.pop()) {
    const [value, path] = next;
    if (typeof value === "string") {
      if (isIllFormed(value)) issues.push({ path: path.join("."), message: TEXT_MESSAGE });
    } else if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => stack.push([item, [...path, index]]));
    } else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (isIllFormed(key)) issues.push({ path: [...path, key].join("."), message: `its name ${TEXT_MESSAGE}` });
        stack.push([item, [...path, key]]);
      }
    }
  }
  return issues;
}

/**
 * Parses request input against a schema; a mismatch is a 400 naming every bad field. Every
 * string the input carries must also be text PostgreSQL can store (no NUL, no unpaired
 * surrogate), whatever the schema says of it: no request reaches the database with one.
 */
export function parse<S extends z.ZodType>(schema: S, input: unknown, code: string): z.infer<S> {
  const text = textIssues(input);
  const result = schema.safeParse(input);
  if (result.success && text.length === 0) return result.data;
  const issues = [
    ...text,
    ...(result.success
      ? []
      : result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }))),
  ];
  throw new AppError(code, "the request is invalid", { status: 400, details: { issues } });
}

/**
 * A list of every member of the union `T`, as a tuple for `z.enum`: a member missing from the list
 * (one added to the schema's type later) fails to compile.
 */
export const everyOf =
  <T extends string>() =>
  <const L extends readonly T[]>(list: L & ([T] extends [L[number]] ? unknown : never)): L =>
    list;
