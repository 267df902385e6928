import { canonical } from "./policy-document";
import type { Json } from "./snapshot";

/**
 * A statement's `Condition` block read as AWS evaluates it, so that the diff can tell a condition
 * that holds in fewer requests from one that holds in others, and say which only when it can prove
 * it. The reading follows AWS's IAM reference:
 *
 * - "Conditions with multiple context keys or values": the operators of one block are ANDed, the
 *   keys under one operator are ANDed, and the values of one key are ORed — NORed for a negated
 *   operator (`StringNotEquals`, `StringNotLike`, `ArnNotEquals`, `ArnNotLike`, `NotIpAddress`…).
 *   So a block is a conjunction of clauses, one per operator and key.
 * - "IAM JSON policy elements: Condition operators": a key absent from the request fails a positive
 *   operator but satisfies a negated one, which asks that the key not match; an `…IfExists`
 *   operator is true when its key is absent; `Null` tests presence itself (`true`: the key does not
 *   exist) and takes no `IfExists`.
 * - "IAM JSON policy elements: Condition": key names are not case-sensitive; values are, or not,
 *   depending on the operator, so values are compared exactly.
 *
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
 */

/** A set operator for multivalued keys, written before the operator (`ForAnyValue:StringLike`). */
export type Qualifier = "ForAnyValue" | "ForAllValues";

/** How a known operator reads its values: ORed, NORed, or as a test of the key's presence. */
export type Sense = "positive" | "negated" | "null";

export interface Clause {
  /** The operator as written, qualifier and `IfExists` included. */
  readonly operator: string;
  /** The operator without its qualifier and `IfExists`: `StringNotEquals`. */
  readonly base: string;
  readonly qualifier?: Qualifier;
  readonly ifExists: boolean;
  /**
   * How the operator reads its values; absent when this module cannot say (an unknown operator or
   * qualifier, a policy variable, a value that is not a string, number or boolean). Such a clause
   * implies only itself, and only an identical clause implies it.
   */
  readonly sense?: Sense;
  /** The condition key, lower-cased: AWS compares key names without case. */
  readonly key: string;
  /** The values, sorted and without repeats: their order means nothing to AWS. */
  readonly values: readonly string[];
}

/** The clauses of one `Condition` block, all of which must hold; none is "always". */
export type Condition = readonly Clause[];

// Negated matching, as the operator tables of "Condition operators" call these; every other
// operator there but `Null` compares positively. `BinaryNotEquals` is not in those tables, so it is
// left unknown rather than guessed.
const NEGATED = new Set([
  "StringNotEquals",
  "StringNotEqualsIgnoreCase",
  "StringNotLike",
  "NumericNotEquals",
  "DateNotEquals",
  "NotIpAddress",
  "ArnNotEquals",
  "ArnNotLike",
]);
const POSITIVE = new Set([
  "StringEquals",
  "StringEqualsIgnoreCase",
  "StringLike",
  "NumericEquals",
  "NumericLessThan",
  "NumericLessThanEquals",
  "NumericGreaterThan",
  "NumericGreaterThanEquals",
  "DateEquals",
  "DateLessThan",
  "DateLessThanEquals",
  "DateGreaterThan",
  "DateGreaterThanEquals",
  "Bool",
  "BinaryEquals",
  "IpAddress",
  "ArnEquals",
  "ArnLike",
]);

/**
 * String and ARN operators whose match of an empty value this module can rule out. AWS says a key
 * may be present with an empty value ("null", in "IAM JSON policy elements: Condition") without
 * saying whether `Null … true` then holds, so a rule that starts from `Null … true` must also hold
 * for a key present and empty.
 */
const EQUALS = new Set(["StringNotEquals", "StringNotEqualsIgnoreCase"]);
// The reference says `ArnNotEquals` behaves as `ArnNotLike` does: both read wildcards.
const LIKE = new Set(["StringNotLike", "ArnNotLike", "ArnNotEquals"]);

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  value !== null && typeof value === "object" && !Array.isArray(value);

const scalar = (value: Json): string | undefined =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : undefined;

/**
 * A condition key as AWS compares it: its name ignores case, but a tag key after its `/`
 * (`s3:ExistingObjectTag/Env`) is kept as written — whether a service compares tag keys by case is
 * not documented for every service, and keeping it cannot make two different keys one.
 */
const keyOf = (key: string): string => {
  const slash = key.indexOf("/");
  return slash < 0 ? key.toLowerCase() : `${key.slice(0, slash).toLowerCase()}${key.slice(slash)}`;
};

/** A clause this module cannot read: it keeps what identifies it, and nothing to reason with. */
const opaque = (operator: string, key: string, value: Json | undefined): Clause => ({
  operator,
  base: operator,
  ifExists: false,
  key: keyOf(key),
  values: [canonical(value)],
});

function clauseOf(operator: string, key: string, value: Json): Clause {
  const raw = Array.isArray(value) ? value : [value];
  const read = raw.map(scalar);
  if (read.some((v) => v === undefined)) return opaque(operator, key, value);
  const values = [...new Set(read as string[])].sort();
  const parts = /^(?:(ForAnyValue|ForAllValues):)?([A-Za-z]+?)(IfExists)?$/.exec(operator);
  const base = parts?.[2] ?? operator;
  const ifExists = parts?.[3] !== undefined;
  const qualifier = parts?.[1] as Qualifier | undefined;
  const senseOf = (): Sense | undefined => {
    if (!parts || values.length === 0) return undefined;
    // A variable takes its value from the request (`${aws:username}`), and AWS does not say what a
    // value naming an absent key compares as: no rule here reasons about one.
    if (values.some((v) => v.includes("${"))) return undefined;
    if (base === "Null") return ifExists || values.some((v) => v !== "true" && v !== "false") ? undefined : "null";
    return NEGATED.has(base) ? "negated" : POSITIVE.has(base) ? "positive" : undefined;
  };
  const sense = senseOf();
  return {
    operator,
    base,
    ...(qualifier ? { qualifier } : {}),
    ifExists,
    ...(sense ? { sense } : {}),
    key: keyOf(key),
    values,
  };
}

/** The clauses of a statement's `Condition` block (`undefined`: none). */
export function parseCondition(block: Json | undefined): Condition {
  if (block === undefined) return [];
  if (!isObject(block)) return [opaque("", "", block)];
  return Object.keys(block).flatMap((operator) => {
    const keys = block[operator];
    // An operator with no keys is not a clause that always holds: AWS gives it no meaning.
    if (!isObject(keys) || Object.keys(keys).length === 0) return [opaque(operator, "", keys)];
    return Object.keys(keys).map((key) => clauseOf(operator, key, keys[key] ?? null));
  });
}

const same = (a: Clause, b: Clause): boolean =>
  a.operator === b.operator &&
  a.key === b.key &&
  a.values.length === b.values.length &&
  a.values.every((v, i) => v === b.values[i]);
const within = (small: readonly string[], large: readonly string[]) => small.every((v) => large.includes(v));

/** Whether a positive or negated clause holds for a request without its key. */
const holdsWhenAbsent = (clause: Clause): boolean => clause.sense === "negated" || clause.ifExists;

/** Whether a negated string or ARN clause holds for a key that is present but empty. */
const holdsWhenEmpty = (clause: Clause): boolean =>
  (EQUALS.has(clause.base) && !clause.values.includes("")) ||
  (LIKE.has(clause.base) && clause.values.every((v) => /[^*]/.test(v)));

/** Whether every request that satisfies clause `a` satisfies clause `b`; false when unsure. */
function clauseImplies(a: Clause, b: Clause): boolean {
  if (same(a, b)) return true;
  // Set operators range over a key's several values; no rule here reads them.
  if (a.sense === undefined || b.sense === undefined || a.qualifier || b.qualifier || a.key !== b.key) return false;
  if (a.sense === "null")
    return b.sense === "null"
      ? within(a.values, b.values)
      : a.values.length === 1 && a.values[0] === "true" && b.sense === "negated" && holdsWhenEmpty(b);
  if (b.sense === "null" || a.base !== b.base || a.sense !== b.sense) return false;
  if (holdsWhenAbsent(a) && !holdsWhenAbsent(b)) return false;
  // With the key present, fewer values NORed hold in more requests, more values ORed too.
  return a.sense === "negated" ? within(b.values, a.values) : within(a.values, b.values);
}

/**
 * What one clause says about another key, as AWS documents the keys ("AWS global condition context
 * keys"). `aws:PrincipalIsAWSService` is false unless a service principal calls the resource
 * directly, and `aws:PrincipalServiceName` is present only when one does: a request in which the
 * first is false carries no service name.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalisawsservice
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalservicename
 */
const KEY_FACTS: readonly { readonly given: Condition; readonly then: Condition }[] = [
  {
    given: parseCondition({ Bool: { "aws:PrincipalIsAWSService": "false" } }),
    then: parseCondition({ Null: { "aws:PrincipalServiceName": "true" } }),
  },
];

/**
 * Whether every request that satisfies condition `a` also satisfies `b`: true only when it follows
 * from the rules above — a clause implies itself, a negated clause implies the same one with fewer
 * values, a positive clause the same one with more, either implies its `…IfExists` form, `Null …
 * true` implies a negated string clause, and a conjunction implies each of its clauses, with the
 * key facts added. Anything else is false, including what is true but unproven.
 */
export function implies(a: Condition, b: Condition): boolean {
  const derived = KEY_FACTS.filter((fact) =>
    fact.given.every((given) => a.some((clause) => clauseImplies(clause, given))),
  ).flatMap((fact) => fact.then);
  const known = [...a, ...derived];
  return b.every((clause) => known.some((premise) => clauseImplies(premise, clause)));
}
