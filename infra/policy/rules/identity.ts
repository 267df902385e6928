import { get, isEveryone, resourceRule, statementsOf, text, type Statement } from "../rule";

const KEY = "aws:kms/key:Key";
/** Documents held by IAM resources; a key's own policy is checked by the KMS rules. */
const IAM_POLICY_TYPES = [
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/policy:Policy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
];
/** `*` or `service:*`: every action of every service, or of one. */
const isWildcardAction = (action: string) => action === "*" || /^[a-z0-9-]+:\*$/.test(action);

function wildcardGrants(statements: readonly Statement[]): string[] {
  return statements
    .filter((statement) => statement.Effect === "Allow" && statement.Resource.includes("*"))
    .flatMap((statement) =>
      [...statement.Action.filter(isWildcardAction), ...(statement.NotAction.length > 0 ? ["NotAction"] : [])].map(
        (action) => `statement ${statement.Sid ?? "?"} allows ${action} on *`,
      ),
    );
}

export const identityRules = [
  resourceRule({
    name: "CKV_AWS_7-kms-rotation",
    description: "KMS keys rotate yearly; keys AWS cannot rotate are exempt by name, with the reason.",
    enforcement: "mandatory",
    types: [KEY],
    exemptions: {
      "keys-operator-signing":
        "asymmetric secp256k1 SIGN_VERIFY key: AWS cannot rotate it, and a new key would be a new on-chain operator address; it is protected from deletion instead",
    },
    check: ({ props }) => (props["enableKeyRotation"] === true ? undefined : "enableKeyRotation is off"),
  }),
  resourceRule({
    name: "CKV_AWS_33-kms-no-public-principal",
    description: "No key policy lets everyone use the key.",
    enforcement: "mandatory",
    types: [KEY],
    check: ({ props }) =>
      statementsOf(props["policy"])
        .filter((statement) => statement.Effect === "Allow" && isEveryone(statement.Principal) && !statement.Condition)
        .map((statement) => `statement ${statement.Sid ?? "?"} allows everyone`),
  }),
  resourceRule({
    name: "paimon-kms-signing-key-protected",
    description: "An asymmetric signing key is protected, with the longest deletion window.",
    enforcement: "mandatory",
    types: [KEY],
    check: ({ props, protect }) => {
      if (props["keyUsage"] !== "SIGN_VERIFY") return undefined;
      return [
        ...(protect ? [] : ["not protected: `pulumi destroy` would delete the operator's key"]),
        ...(Number(props["deletionWindowInDays"] ?? 30) < 30
          ? [`deletionWindowInDays ${text(props["deletionWindowInDays"])} < 30`]
          : []),
      ];
    },
  }),
  resourceRule({
    name: "CKV_AWS_355-iam-no-wildcard-on-everything",
    description: "No IAM policy allows `*` (or `service:*`) actions on `*` resources (CKV_AWS_62/63/355).",
    enforcement: "mandatory",
    types: IAM_POLICY_TYPES,
    check: ({ props }) => wildcardGrants(statementsOf(props["policy"])),
  }),
  resourceRule({
    name: "CKV_AWS_61-iam-trust-not-public",
    description: "No role can be assumed by everyone, and federated (IRSA) trust names its service account.",
    enforcement: "mandatory",
    types: ["aws:iam/role:Role"],
    check: ({ props }) =>
      statementsOf(props["assumeRolePolicy"]).flatMap((statement) => {
        if (statement.Effect !== "Allow") return [];
        if (isEveryone(statement.Principal)) return [`statement ${statement.Sid ?? "?"} lets everyone assume the role`];
        const federated = get(statement.Principal, "Federated");
        const equals = (get(statement.Condition, "StringEquals") ?? {}) as Record<string, unknown>;
        if (federated && !Object.keys(equals).some((key) => key.endsWith(":sub"))) {
          return [`statement ${statement.Sid ?? "?"} trusts ${text(federated)} without naming a subject`];
        }
        return [];
      }),
  }),
  resourceRule({
    name: "CKV_AWS_274-no-administrator-access",
    description: "No role carries AdministratorAccess.",
    enforcement: "mandatory",
    types: ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
    check: ({ props }) =>
      text(props["policyArn"]).endsWith(":policy/AdministratorAccess") ? "attaches AdministratorAccess" : undefined,
  }),
];
