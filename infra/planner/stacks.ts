import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { isMap, isScalar, isSeq, parseDocument, type Node } from "yaml";
import { PlanError } from "./errors";

// Reads the stack files as plain data and never imports ../config, which loads the Pulumi SDK
// (over a second): `pnpm plan`'s own process reads these files, only its stacks' processes run
// Pulumi. stack-configs.ts validates them.

/** The repository root: where Pulumi.yaml and the stack files live. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

const STACK_FILE = /^Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/;

/** What the plan shows instead of a `secure:` value it cannot (and need not) decrypt. */
export const SECRET_PLACEHOLDER = "[secret]";

/** A stack's configuration in the form the Pulumi runtime hands to a program. */
export interface StackFile {
  readonly stack: string;
  /** File name relative to the repository root, for messages. */
  readonly file: string;
  /** `namespace:key` → value: scalars as strings, structured values as JSON. */
  readonly config: Readonly<Record<string, string>>;
  /** Keys holding a `secure:` value anywhere inside them. */
  readonly secretKeys: readonly string[];
}

/** The stacks that have a `Pulumi.<stack>.yaml`, sorted. */
export function listStacks(root = REPO_ROOT): string[] {
  return readdirSync(root)
    .map((file) => STACK_FILE.exec(file)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
}

function parseYamlFile(file: string, absolute: string): unknown {
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    throw new PlanError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const document = parseDocument(text, { uniqueKeys: true });
  const [first] = document.errors;
  if (first) {
    const at = first.linePos?.[0];
    throw new PlanError(
      `${file}${at ? `:${at.line}:${at.col}` : ""}: not valid YAML: ${(first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
    );
  }
  return document.contents;
}

/** The project name from Pulumi.yaml. */
export function readProjectName(root = REPO_ROOT): string {
  const contents = parseYamlFile("Pulumi.yaml", path.join(root, "Pulumi.yaml"));
  const name = isMap(contents) ? contents.get("name") : undefined;
  if (typeof name !== "string" || name === "") throw new PlanError("Pulumi.yaml: name: missing");
  return name;
}

function isSecure(node: unknown): boolean {
  return isMap(node) && node.items.length === 1 && isScalar(node.items[0]?.key) && node.items[0].key.value === "secure";
}

/** A config value as plain data, with every `secure:` value replaced by the placeholder. */
function toPlain(node: unknown, found: { secret: boolean }): unknown {
  if (isSecure(node)) {
    found.secret = true;
    return SECRET_PLACEHOLDER;
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const item of node.items) {
      const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
      out[key] = toPlain(item.value, found);
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((item) => toPlain(item, found));
  if (isScalar(node)) return node.value;
  return node === null || node === undefined ? null : (node as Node).toJSON();
}

/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to a program: keys without a
 * namespace belong to the project, scalars become strings, structured values become JSON.
 */
export function readStackFile(stack: string, root = REPO_ROOT, project = readProjectName(root)): StackFile {
  const known = listStacks(root);
  if (!known.includes(stack)) {
    throw new PlanError(
      `unknown stack "${stack}": known stacks are ${known.join(", ") || "(none: add a Pulumi.<stack>.yaml)"}`,
    );
  }
  const file = `Pulumi.${stack}.yaml`;
  const contents = parseYamlFile(file, path.join(root, file));
  const configNode: unknown = isMap(contents) ? contents.get("config", true) : undefined;
  if (configNode !== undefined && configNode !== null && !isMap(configNode)) {
    throw new PlanError(`${file}: config: must be a mapping of keys to values`);
  }
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const item of isMap(configNode) ? configNode.items : []) {
    const rawKey = isScalar(item.key) ? String(item.key.value) : String(item.key);
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    const found = { secret: false };
    const value = toPlain(item.value, found);
    config[key] = typeof value === "string" ? value : value === null ? "" : JSON.stringify(value);
    if (found.secret) secretKeys.push(key);
  }
  return { stack, file, config, secretKeys: secretKeys.sort() };
}
