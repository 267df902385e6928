import { ACTION_RISKS, expandAction, expandActions, isServiceWildcard, type ActionRisk } from "../policy/iam-actions";
import { SEVERITY_RANK, type Severity } from "./findings";
import { JSON_DOCUMENT_KEY, type Json } from "./snapshot";

/**
 * IAM, key and bucket policies compared as sets of statements matched by what they say, not by
 * their place in the list or their `Sid`: a statement inserted, removed or reordered leaves every
 * other one unchanged, and a changed one is read as the grants it adds or takes away.
 */

export interface Statement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  /** `kind:value` (`AWS:arn:aws:iam::1:root`, `Service:logs.amazonaws.com`, `*`); empty for identity policies. */
  readonly principals: readonly string[];
  readonly notPrincipal: boolean;
  readonly actions: readonly string[];
  readonly notAction: boolean;
  readonly resources: readonly string[];
  readonly notResource: boolean;
  /** Canonical JSON of the condition block, `""` when there is none. */
  readonly condition: string;
  /** The statement as written, for the report. */
  readonly raw: { [key: string]: Json };
}

const text = (value: Json): string => (typeof value === "string" ? value : JSON.stringify(value));
const asStrings = (value: Json | undefined): string[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value.map(text) : [text(value)];

/** JSON with object keys and array items sorted: order, which a policy gives no meaning, tells nothing apart. */
export function canonical(value: Json | undefined): string {
  if (value === undefined) return "";
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function principalsOf(value: Json | undefined): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [value === "*" ? "*" : `AWS:${value}`];
  if (typeof value !== "object" || Array.isArray(value)) return [text(value)];
  return Object.keys(value)
    .sort()
    .flatMap((kind) => asStrings(value[kind]).map((who) => (kind === "AWS" && who === "*" ? "*" : `${kind}:${who}`)));
}

/** The document held by a policy-valued input (`{"@json": …}` in a snapshot), or undefined. */
export function documentOf(value: Json | undefined): { [key: string]: Json } | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const document = value[JSON_DOCUMENT_KEY];
  if (!document || typeof document !== "object" || Array.isArray(document)) return undefined;
  return "Statement" in document ? document : undefined;
}

export function statementsOf(document: { [key: string]: Json } | undefined): Statement[] {
  const raw = document?.["Statement"];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list
    .filter((item): item is { [key: string]: Json } => !!item && typeof item === "object" && !Array.isArray(item))
    .map((item) => ({
      ...(typeof item["Sid"] === "string" && item["Sid"] !== "" ? { sid: item["Sid"] } : {}),
      effect: item["Effect"] === "Deny" ? "Deny" : "Allow",
      principals: principalsOf(item["Principal"] ?? item["NotPrincipal"]),
      notPrincipal: item["NotPrincipal"] !== undefined,
      actions: asStrings(item["Action"] ?? item["NotAction"]).sort(),
      notAction: item["NotAction"] !== undefined,
      resources: asStrings(item["Resource"] ?? item["NotResource"]).sort(),
      notResource: item["NotResource"] !== undefined,
      condition: item["Condition"] === undefined ? "" : canonical(item["Condition"]),
      raw: item,
    }));
}

/** What a statement says, without its `Sid`: two statements that say the same are the same. */
export const meaning = (statement: Statement): string =>
  canonical({
    e: statement.effect,
    p: [...statement.principals],
    np: statement.notPrincipal,
    a: statement.actions.map((action) => action.toLowerCase()),
    na: statement.notAction,
    r: [...statement.resources],
    nr: statement.notResource,
    c: statement.condition,
  });

export interface DocumentDelta {
  readonly added: readonly Statement[];
  readonly removed: readonly Statement[];
  /** Statements that changed in place: the same Sid, or the same effect and principals or actions. */
  readonly modified: readonly { readonly before: Statement; readonly after: Statement }[];
}

/** Compares two documents statement by statement, by content. */
export function compareDocuments(before: readonly Statement[], after: readonly Statement[]): DocumentDelta {
  const remaining = [...before];
  const added: Statement[] = [];
  for (const statement of after) {
    const index = remaining.findIndex((candidate) => meaning(candidate) === meaning(statement));
    if (index >= 0) remaining.splice(index, 1);
    else added.push(statement);
  }
  const removed = remaining;
  const modified: { before: Statement; after: Statement }[] = [];
  const pair = (match: (a: Statement, b: Statement) => boolean) => {
    for (const statement of [...added]) {
      const index = removed.findIndex((candidate) => match(candidate, statement));
      if (index < 0) continue;
      const [old] = removed.splice(index, 1);
      added.splice(added.indexOf(statement), 1);
      if (old) modified.push({ before: old, after: statement });
    }
  };
  const same = (a: readonly string[], b: readonly string[]) => canonical([...a]) === canonical([...b]);
  pair((a, b) => a.sid !== undefined && a.sid === b.sid);
  pair((a, b) => a.effect === b.effect && a.principals.length > 0 && same(a.principals, b.principals));
  pair((a, b) => a.effect === b.effect && same(a.actions, b.actions));
  pair((a, b) => a.effect === b.effect && same(a.resources, b.resources));
  return { added, removed, modified };
}

/** Who a principal is, seen from the stack's account. */
export interface PrincipalContext {
  /** The stack's AWS account, when the snapshot names it. */
  readonly accountId?: string;
}

export function describePrincipal(principal: string, context: PrincipalContext): { text: string; foreign: boolean } {
  if (principal === "*") return { text: "everyone (`*`)", foreign: true };
  const [kind, ...rest] = principal.split(":");
  const who = rest.join(":");
  if (kind === "Service") return { text: `the service ${who}`, foreign: false };
  if (kind === "Federated") return { text: `identities federated by ${who}`, foreign: false };
  if (kind === "CanonicalUser") return { text: `the canonical user ${who}`, foreign: true };
  const account = /^(\d{12})$/.exec(who)?.[1] ?? /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(who)?.[1];
  if (account !== undefined && context.accountId !== undefined && account !== context.accountId) {
    return { text: `${who} — another account (${account})`, foreign: true };
  }
  return { text: who, foreign: false };
}

/** A grant's weight: which of its actions matter, and how much. */
export interface ActionWeight {
  readonly severity: Severity;
  readonly words: string;
}

const RISK_WORDS: Readonly<Record<ActionRisk, string>> = {
  "privilege-escalation": "privilege escalation",
  "data-exfiltration": "reads data or secrets",
  "credentials-exposure": "obtains credentials",
  signing: "signs with the key",
  destructive: "deletes or disables protection",
  "permissions-management": "rewrites access policies",
};

/** The actions `patterns` grant, with their risk (`s3:*` → every s3 action, `kms:Create*` → CreateGrant…). */
export function weighActions(patterns: readonly string[], onEverything: boolean): ActionWeight {
  const wildcards = patterns.filter(isServiceWildcard);
  const risky = new Map<ActionRisk, string[]>();
  for (const action of expandActions(patterns)) {
    const risk = ACTION_RISKS[action];
    if (risk) risky.set(risk, [...(risky.get(risk) ?? []), action]);
  }
  const parts: string[] = [];
  let severity: Severity = "low";
  const raise = (to: Severity) => {
    if (SEVERITY_RANK[to] < SEVERITY_RANK[severity]) severity = to;
  };
  if (wildcards.length > 0) {
    parts.push(
      `${wildcards.map((w) => `\`${w}\``).join(", ")} (every action${wildcards.includes("*") ? "" : " of the service"})`,
    );
    raise(onEverything ? "critical" : "high");
  }
  for (const [risk, actions] of risky) {
    const named = patterns
      .filter((pattern) => !isServiceWildcard(pattern) && /[*?]/.test(pattern))
      .filter((pattern) => actions.some((action) => expandAction(pattern).actions.includes(action)));
    const via = named.length > 0 ? ` via ${named.map((p) => `\`${p}\``).join(", ")}` : "";
    parts.push(`${actions.map((a) => `\`${a}\``).join(", ")}${via} (${RISK_WORDS[risk]})`);
    if (risk === "privilege-escalation" || risk === "signing") raise(onEverything ? "critical" : "high");
    else if (risk === "data-exfiltration" || risk === "credentials-exposure") raise(onEverything ? "high" : "medium");
    else raise("medium");
  }
  return { severity, words: parts.join("; ") };
}

/** `Allow kms:Decrypt on * to AWS:arn… if {…}` */
export function describeStatement(statement: Statement, context: PrincipalContext): string {
  const actions = `${statement.notAction ? "every action but " : ""}${statement.actions.map((a) => `\`${a}\``).join(", ")}`;
  const resources = `${statement.notResource ? "everything but " : ""}${statement.resources.map((r) => `\`${r}\``).join(", ")}`;
  const principals =
    statement.principals.length > 0
      ? ` to ${statement.notPrincipal ? "everyone but " : ""}${statement.principals.map((p) => describePrincipal(p, context).text).join(", ")}`
      : "";
  return `${statement.effect} ${actions} on ${resources}${principals}${statement.condition ? ` if ${statement.condition}` : ""}`;
}
