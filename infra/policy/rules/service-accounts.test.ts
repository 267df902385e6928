import { describe, expect, it } from "vitest";
import { evaluatePolicies } from "../../planner/policy";
import type { RecordedResource } from "../../planner/record";
import { expectCase, manifest, resource, urnOf } from "../testing";
import { serviceAccountRules } from "./service-accounts";

const [exist, annotation] = serviceAccountRules as [
  (typeof serviceAccountRules)[number],
  (typeof serviceAccountRules)[number],
];
const ROLE = "aws:iam/role:Role";
const RELEASE = "kubernetes:helm.sh/v3:Release";

const trust = (subject: string) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: "arn:aws:iam::111111111111:oidc-provider/oidc.eks" },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { "oidc.eks:sub": subject, "oidc.eks:aud": "sts.amazonaws.com" } },
      },
    ],
  });
const role = (name: string, namespace: string, account: string) =>
  resource(ROLE, name, { name, assumeRolePolicy: trust(`system:serviceaccount:${namespace}:${account}`) });
const arn = (name: string) => `arn:aws:iam::111111111111:role/${name}`;
const serviceAccount = (namespace: string, name: string, roleArn?: string) =>
  manifest({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name,
      namespace,
      ...(roleArn ? { annotations: { "eks.amazonaws.com/role-arn": roleArn } } : {}),
    },
  });
/** The external-secrets release, whose service account assumes the role its values were computed from. */
const externalSecrets = (roleName: string) =>
  resource(
    RELEASE,
    "external-secrets",
    {
      chart: "external-secrets",
      namespace: "external-secrets",
      values: {
        serviceAccount: {
          create: true,
          name: "external-secrets",
          annotations: { "eks.amazonaws.com/role-arn": "<computed>" },
        },
      },
    },
    { dependsOn: { values: [urnOf(ROLE, roleName)] } },
  );
const store = (kind: "SecretStore" | "ClusterSecretStore", namespace?: string) =>
  manifest({
    apiVersion: "external-secrets.io/v1beta1",
    kind,
    metadata: { name: "aws-secrets-manager", ...(namespace ? { namespace } : {}) },
    spec: {
      provider: {
        aws: {
          service: "SecretsManager",
          auth: { jwt: { serviceAccountRef: { name: "external-secrets", namespace: "external-secrets" } } },
        },
      },
    },
  });
const deployment = (namespace: string, account: string) =>
  manifest({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "worker", namespace },
    spec: { template: { spec: { serviceAccountName: account, containers: [{ name: "worker", image: "x:1" }] } } },
  });

/** A platform that fits together: the fund's namespace is `fund`, the add-ons have their own. */
const fitting: RecordedResource[] = [
  role("external-secrets-role", "external-secrets", "external-secrets"),
  externalSecrets("external-secrets-role"),
  store("ClusterSecretStore"),
  role("paimon-test-rebalance-worker", "fund", "paimon-rebalance-worker"),
  serviceAccount("fund", "paimon-rebalance-worker", arn("paimon-test-rebalance-worker")),
  deployment("fund", "paimon-rebalance-worker"),
  role("cni-role", "kube-system", "aws-node"),
  resource("aws:eks/addon:Addon", "vpc-cni", { addonName: "vpc-cni" }),
];
const replace = (from: RecordedResource, to: RecordedResource) =>
  fitting.map((candidate) => (candidate.urn === from.urn ? to : candidate));

describe("paimon-service-accounts-exist", () => {
  it("when a namespaced SecretStore authenticates as another namespace's account, then it fires", () => {
    const broken = [...fitting, store("SecretStore", "fund")];
    expectCase(exist, { failing: broken, passing: fitting });
    expect(evaluatePolicies([exist], broken, { environment: "production" })[0]?.message).toMatch(
      /SecretStore fund\/aws-secrets-manager names service account external-secrets\/external-secrets: a SecretStore may only use/,
    );
  });

  it("when an IRSA trust names the default namespace but the charts run in another, then it fires", () => {
    const hardCoded = role("paimon-test-rebalance-worker", "paimon", "paimon-rebalance-worker");
    const broken = replace(fitting[3]!, hardCoded);
    expectCase(exist, { failing: broken, passing: fitting });
    expect(evaluatePolicies([exist], broken, { environment: "production" })[0]?.message).toBe(
      "role paimon-test-rebalance-worker trusts system:serviceaccount:paimon:paimon-rebalance-worker, " +
        "but no service account paimon-rebalance-worker exists in namespace paimon",
    );
  });

  it("when a ClusterSecretStore names an account no release or chart creates, then it fires", () => {
    const broken = fitting.filter((candidate) => candidate.type !== RELEASE);
    expectCase(exist, { failing: broken, passing: fitting });
  });

  it("when a pod runs as an account its namespace does not have, then it fires", () => {
    expectCase(exist, { failing: [...fitting, deployment("fund", "paimon-typo")], passing: fitting });
  });

  it("when a trust names an EKS add-on's own account, then the add-on counts as creating it", () => {
    const withoutAddon = fitting.filter((candidate) => candidate.type !== "aws:eks/addon:Addon");
    expectCase(exist, { failing: withoutAddon, passing: fitting });
  });
});

describe("paimon-irsa-annotation-matches-trust", () => {
  it("when a chart's service account assumes a role that trusts another namespace's, then it fires", () => {
    const broken = replace(fitting[3]!, role("paimon-test-rebalance-worker", "paimon", "paimon-rebalance-worker"));
    expectCase(annotation, { failing: broken, passing: fitting });
    expect(evaluatePolicies([annotation], broken, { environment: "production" })[0]?.message).toMatch(
      /service account fund\/paimon-rebalance-worker .* assumes role paimon-test-rebalance-worker, whose trust names system:serviceaccount:paimon:paimon-rebalance-worker/,
    );
  });

  it("when a release's account assumes the role its values came from, and that role trusts another account, then it fires", () => {
    const broken = replace(
      fitting[0]!,
      role("external-secrets-role", "external-secrets", "external-secrets-controller"),
    );
    expectCase(annotation, { failing: broken, passing: fitting });
  });

  it("when an annotation names a role the stack does not create, then it fires", () => {
    const broken = replace(fitting[4]!, serviceAccount("fund", "paimon-rebalance-worker", arn("paimon-test-typo")));
    expectCase(annotation, { failing: broken, passing: fitting });
  });
});
