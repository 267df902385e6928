/**
 * §9.3 "access rights reviewed", read from a plan snapshot (`infra/plans/<stack>.json`, what
 * `pnpm plan` records of every resource's inputs), never guessed: who may sign with the fund
 * operator's key (its key policy and, where that policy lets the account delegate `kms:Sign`, the
 * IAM policies that grant it) and who may read the stack's secrets (IAM policies granting
 * `secretsmanager:GetSecretValue` on them, and any secret's resource policy).
 *
 * The lines: only a rebalance worker's role signs, and nobody may create grants on the key (the
 * policy pack's `paimon-only-rebalance-worker-signs`); only External Secrets (which syncs the
 * secrets into the cluster) and the secrets backup (which exports them) read the secrets.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { need, worst, type CheckItem, type Status } from "./types";

const planSchema = z.object({
  stack: z.string(),
  resources: z.array(
    z.object({ type: z.string(), name: z.string(), inputs: z.record(z.string(), z.unknown()).default({}) }),
  ),
  outputs: z.record(z.string(), z.unknown()).default({}),
});
type Plan = z.infer<typeof planSchema>;
type Resource = Plan["resources"][number];

interface Statement {
  readonly effect: "Allow" | "Deny";
  readonly principals: readonly string[];
  readonly actions: readonly string[];
  readonly notAction: boolean;
  readonly resources: readonly string[];
  readonly condition: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** A policy field that is one string or a list of them. */
const strings = (value: unknown): string[] =>
  typeof value === "string"
    ? [value]
    : Array.isArray(value)
      ? value.filter((v): v is string => typeof v === "string")
      : [];

function statements(policy: unknown): Statement[] {
  const document = (policy as { "@json"?: unknown } | undefined)?.["@json"] ?? policy;
  const list = (document as { Statement?: unknown } | undefined)?.Statement;
  return (Array.isArray(list) ? list : list ? [list] : []).map((raw: Record<string, unknown>) => {
    const principal = raw["Principal"];
    return {
      effect: raw["Effect"] === "Deny" ? "Deny" : "Allow",
      principals:
        principal === "*"
          ? ["*"]
          : typeof principal === "object" && principal !== null
            ? Object.values(principal as Record<string, unknown>).flatMap(strings)
            : [],
      actions: strings(raw["Action"] ?? raw["NotAction"]),
      notAction: raw["NotAction"] !== undefined,
      resources: strings(raw["Resource"] ?? raw["NotResource"]),
      condition: (raw["Condition"] ?? {}) as Statement["condition"],
    };
  });
}

/** IAM's action patterns: `*` any run, `?` one character, case-insensitive. */
function covers(pattern: string, action: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "i").test(action);
}
const allows = (statement: Statement, action: string) =>
  statement.effect === "Allow" &&
  (statement.notAction
    ? !statement.actions.some((pattern) => covers(pattern, action))
    : statement.actions.some((pattern) => covers(pattern, action)));

/** The principals an `aws:PrincipalArn` condition narrows a statement to, where it has one. */
function narrowedTo(statement: Statement): string[] | undefined {
  for (const operator of ["ArnEquals", "ArnLike", "StringEquals", "StringLike"])
    for (const [key, value] of Object.entries(statement.condition[operator] ?? {}))
      if (key.toLowerCase() === "aws:principalarn") return strings(value);
  return undefined;
}
const principalsOf = (statement: Statement): readonly string[] => narrowedTo(statement) ?? statement.principals;

/** Names a principal for a reader: a role of the plan by its IAM name, an account's root as such. */
function principalName(plan: Plan, principal: string): string {
  const reference = /^<role:([^.>]+)\.\w+>$/.exec(principal)?.[1];
  if (reference) {
    const role = plan.resources.find(
      (resource) => resource.type === "aws:iam/role:Role" && resource.name === reference,
    );
    return typeof role?.inputs["name"] === "string" ? role.inputs["name"] : reference;
  }
  const account = /^arn:aws:iam::(\d+):root$/.exec(principal)?.[1];
  if (account) return `account ${account} (through IAM policies)`;
  return /:role\/(.+)$/.exec(principal)?.[1] ?? principal;
}

const IAM_POLICIES = ["aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"];
const roleOf = (plan: Plan, policy: Resource) => principalName(plan, strings(policy.inputs["role"])[0] ?? policy.name);

/** The plan's signing keys: SIGN_VERIFY keys and the replicas of one. */
function signingKeys(plan: Plan): Resource[] {
  const primaries = plan.resources.filter(
    (resource) => resource.type === "aws:kms/key:Key" && resource.inputs["keyUsage"] === "SIGN_VERIFY",
  );
  const replicas = plan.resources.filter(
    (resource) =>
      resource.type === "aws:kms/replicaKey:ReplicaKey" &&
      primaries.some((key) => String(resource.inputs["primaryKeyArn"]).includes(`:${key.name}.`)),
  );
  return [...primaries, ...replicas];
}

/** Who may use `action` on a key: its policy's principals, and IAM roles where it delegates to the account. */
function keyUsers(plan: Plan, key: Resource, action: string): string[] {
  const users = new Set<string>();
  for (const statement of statements(key.inputs["policy"]).filter((s) => allows(s, action))) {
    const narrowed = narrowedTo(statement) !== undefined;
    for (const principal of principalsOf(statement)) {
      if (narrowed || !/:root$/.test(principal)) users.add(principalName(plan, principal));
      // The account as principal: IAM policies in it decide who may.
      else
        for (const policy of plan.resources.filter((resource) => IAM_POLICIES.includes(resource.type)))
          for (const granted of statements(policy.inputs["policy"]).filter((s) => allows(s, action)))
            if (granted.resources.some((resource) => resource === "*" || resource.includes(`:${key.name}.`)))
              users.add(roleOf(plan, policy));
    }
  }
  return [...users].sort();
}

/** Who may read the stack's secrets: GetSecretValue granted on them by IAM, or by a secret's own policy. */
function secretReaders(plan: Plan): string[] {
  const names = plan.resources
    .filter((resource) => resource.type === "aws:secretsmanager/secret:Secret")
    .map((resource) => String(resource.inputs["name"]));
  const reaches = (resource: string) =>
    resource === "*" ||
    names.some((name) => {
      const pattern = resource.split(":secret:")[1];
      return pattern !== undefined && (covers(pattern, name) || covers(pattern, `${name}-AbCdEf`));
    });
  const readers = new Set<string>();
  for (const policy of plan.resources.filter((resource) => IAM_POLICIES.includes(resource.type)))
    for (const statement of statements(policy.inputs["policy"]))
      if (allows(statement, "secretsmanager:GetSecretValue") && statement.resources.some(reaches))
        readers.add(roleOf(plan, policy));
  for (const policy of plan.resources.filter(
    (resource) => resource.type === "aws:secretsmanager/secretPolicy:SecretPolicy",
  ))
    for (const statement of statements(policy.inputs["policy"]).filter((s) =>
      allows(s, "secretsmanager:GetSecretValue"),
    ))
      for (const principal of principalsOf(statement)) readers.add(principalName(plan, principal));
  return [...readers].sort();
}

/** The policy pack's test for a rebalance worker's role (the primary's and the standby's). */
const isRebalanceWorker = (name: string) => /rebalance-?worker/i.test(name);
/** The design's secret readers, by their workload role in the plan's outputs. */
const SECRET_READERS = ["externalSecrets", "secretsBackup"] as const;

export const accessReviewed: CheckItem = {
  id: "access.review",
  title: "Access rights reviewed",
  async run(context) {
    const file = need(context.planFile, "PLAN_FILE");
    const threshold =
      "fail: a signer other than a rebalance worker's role, anyone allowed kms:CreateGrant on the signing key (paimon-only-rebalance-worker-signs), or a secret reader other than External Secrets and the secrets backup";
    const plan = planSchema.parse(JSON.parse(await readFile(file, "utf8")));
    const keys = signingKeys(plan);
    if (keys.length === 0) return { status: "fail", evidence: `${file}: no signing key in the plan`, threshold };
    const statuses: Status[] = [];
    const parts: string[] = [];
    for (const key of keys) {
      const signers = keyUsers(plan, key, "kms:Sign");
      const granters = keyUsers(plan, key, "kms:CreateGrant");
      if (signers.some((signer) => !isRebalanceWorker(signer)) || granters.length > 0) statuses.push("fail");
      parts.push(
        `${key.name} signers: ${signers.join(", ") || "none"}${granters.length > 0 ? `; may create grants: ${granters.join(", ")}` : ""}`,
      );
    }
    const roles = (plan.outputs["workloadRoles"] ?? {}) as Record<string, { roleArn?: string }>;
    const allowed = new Set(SECRET_READERS.map((workload) => principalName(plan, roles[workload]?.roleArn ?? "")));
    const readers = secretReaders(plan);
    if (readers.some((reader) => !allowed.has(reader))) statuses.push("fail");
    parts.push(`secret readers: ${readers.join(", ") || "none"}`);
    const managed = plan.resources
      .filter((resource) => resource.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
      .map(
        (attachment) =>
          `${String(attachment.inputs["role"])}: ${String(attachment.inputs["policyArn"]).split("/").pop() ?? "?"}`,
      );
    if (managed.length > 0)
      parts.push(`AWS-managed policies (their documents are not in the plan): ${managed.join(", ")}`);
    return { status: worst(statuses), evidence: `${plan.stack}: ${parts.join("; ")}`, threshold };
  },
};
