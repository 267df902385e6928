import type * as SecretlintCore from "@secretlint/core";
import type * as SecretlintPreset from "@secretlint/secretlint-rule-preset-recommend";
import type { PolicyViolation } from "./policy";
import type { RecordedStack } from "./record";
import { RESOURCE_SIG, SIG_KEY, UNKNOWN, isSecretValue } from "./signatures";

/**
 * Secret-looking literals in what a program registers — keys, tokens, passwords, connection
 * strings with credentials — found by secretlint's recommended rules. Under the planner's mocks
 * no real secret can come from configuration (a `secure:` value is a placeholder), so a value the
 * detector recognises was typed into code: it is masked before anything is written or printed,
 * and it is a mandatory policy violation naming the resource and the property.
 */

export const SECRET_LITERAL_RULE = "paimon-no-secret-literals";
/** What a detected literal becomes in the snapshot. */
export const REDACTED = "[redacted: secret literal]";

export type InputPath = readonly (string | number)[];

export interface SecretLiteral {
  readonly urn: string;
  readonly name: string;
  readonly type: string;
  /** Where the value sits: `["inputs", …]` or `["outputs", …]`; a secret wrapper is masked whole. */
  readonly path: InputPath;
  /** The secretlint rule and message that recognised it. */
  readonly rule: string;
  /** Whether the value was already marked secret (then it was masked, but its fingerprint must not be kept). */
  readonly wrapped: boolean;
}

interface Candidate {
  readonly text: string;
  readonly owner: { urn: string; name: string; type: string };
  readonly path: InputPath;
  readonly wrapped: boolean;
}

/** Values the mocks or the planner put in place of real ones: never secrets of their own. */
const PLACEHOLDER = /<[A-Za-z0-9]+:[^<>\s]+>|\[secret(:[0-9a-f]+)?\]|\[unknown\]|04da6b54-80e4-46f7-96ec-b56ff0331ba9/;

/** Whether a match is a placeholder, as written or URL-encoded into a connection string. */
function isPlaceholder(text: string): boolean {
  if (PLACEHOLDER.test(text)) return true;
  try {
    return PLACEHOLDER.test(decodeURIComponent(text));
  } catch {
    return false;
  }
}

function collect(
  value: unknown,
  path: InputPath,
  owner: Candidate["owner"],
  wrapper: InputPath | undefined,
  out: Candidate[],
): void {
  if (typeof value === "string") {
    if (value !== UNKNOWN && value.length >= 8)
      out.push({ text: value, owner, path: wrapper ?? path, wrapped: wrapper !== undefined });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      collect(item, [...path, index], owner, wrapper, out);
    });
    return;
  }
  if (value && typeof value === "object") {
    if (isSecretValue(value)) {
      collect(value.value, path, owner, wrapper ?? path, out);
      return;
    }
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === RESOURCE_SIG) return;
    for (const [key, child] of Object.entries(record)) {
      if (key.startsWith("__")) continue;
      collect(child, [...path, key], owner, wrapper, out);
    }
  }
}

/** Lines between values, so no match can run from one value into the next. */
const SEPARATOR = "\n\n\n";

type LintSource = typeof SecretlintCore.lintSource;
type Creator = typeof SecretlintPreset.creator;
let detector: Promise<{ lintSource: LintSource; creator: Creator }> | undefined;
const load = () =>
  (detector ??= Promise.all([import("@secretlint/core"), import("@secretlint/secretlint-rule-preset-recommend")]).then(
    ([core, preset]) => ({ lintSource: core.lintSource, creator: preset.creator }),
  ));

/** Every secret literal among the given strings, by index. */
export async function detect(texts: readonly string[]): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  if (texts.length === 0) return found;
  const { lintSource, creator } = await load();
  const starts: number[] = [];
  let offset = 0;
  for (const text of texts) {
    starts.push(offset);
    offset += text.length + SEPARATOR.length;
  }
  const content = texts.join(SEPARATOR);
  const result = await lintSource({
    source: { content, filePath: "/plan/inputs.txt", contentType: "text" },
    options: { config: { rules: [{ id: "@secretlint/secretlint-rule-preset-recommend", rule: creator }] } },
  });
  for (const message of result.messages) {
    const [start, end] = message.range;
    if (isPlaceholder(content.slice(start, end))) continue;
    // The value the match starts in: the last whose start is at or before it.
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if ((starts[middle] ?? 0) <= start) low = middle;
      else high = middle - 1;
    }
    if (!found.has(low))
      found.set(low, `${message.ruleId.replace("@secretlint/secretlint-rule-", "")}: ${message.messageId}`);
  }
  return found;
}

/** The secret literals in a recorded stack's inputs and outputs. */
export async function findSecretLiterals(recorded: RecordedStack): Promise<SecretLiteral[]> {
  const candidates: Candidate[] = [];
  for (const resource of recorded.resources) {
    collect(
      resource.inputs,
      ["inputs"],
      { urn: resource.urn, name: resource.name, type: resource.type },
      undefined,
      candidates,
    );
  }
  const stack = recorded.resources.find((resource) => resource.type === "pulumi:pulumi:Stack");
  collect(
    recorded.outputs,
    ["outputs"],
    { urn: stack?.urn ?? "(stack outputs)", name: stack?.name ?? "(stack outputs)", type: "pulumi:pulumi:Stack" },
    undefined,
    candidates,
  );
  const found = await detect(candidates.map((candidate) => candidate.text));
  const seen = new Set<string>();
  const literals: SecretLiteral[] = [];
  for (const [index, rule] of [...found].sort(([a], [b]) => a - b)) {
    const candidate = candidates[index];
    if (!candidate) continue;
    const key = `${candidate.owner.urn}\u0000${candidate.path.join("\u0000")}`;
    if (seen.has(key)) continue;
    seen.add(key);
    literals.push({ ...candidate.owner, path: candidate.path, rule, wrapped: candidate.wrapped });
  }
  return literals;
}

/** `inputs.spec.template.spec.containers[0].env[2].value` */
export const pathText = (path: InputPath): string =>
  path.reduce<string>((text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${key}` : key), "");

/** The mandatory violation a literal is. */
export const literalViolation = (literal: SecretLiteral): PolicyViolation => ({
  policy: SECRET_LITERAL_RULE,
  enforcement: "mandatory",
  severity: "critical",
  message: `${pathText(literal.path)} holds a secret literal (${literal.rule}); it is masked in the plan — read it from configuration (\`pulumi config set --secret\`) or Secrets Manager`,
  urn: literal.urn,
  name: literal.name,
});
