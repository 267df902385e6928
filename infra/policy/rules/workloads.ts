import type { PolicyResource } from "@pulumi/policy";
import { containersOf, describe, isKind, namespaceOf, podSpecOf, readsVariable, type Container } from "../kubernetes";
import { HELM_RELEASE, helmPods } from "../helm-values";
import { stackRule } from "../rule";

/** The image's entrypoint arguments: apply the migrations; wait until they are applied. */
const MIGRATE = ["migrate"];
const WAIT_FOR_MIGRATIONS = ["migrate", "--wait"];
/** The databases a migration covers, and so what a waiting init container must be told about. */
const DATABASE_VARIABLES = ["DATABASE_URL", "METRICS_DATABASE_URL"];

const argsOf = (container: Container) => [...(container.command ?? []), ...(container.args ?? [])];
const endsWith = (args: readonly string[], tail: readonly string[]) =>
  args.length >= tail.length && tail.every((arg, index) => args[args.length - tail.length + index] === arg);

/** Why a Deployment that reads the database may start before its image's migrations ran, if it may. */
function migrationProblems(resources: readonly PolicyResource[], deployment: PolicyResource): string[] {
  const spec = podSpecOf(deployment.type, deployment.props) ?? {};
  const readers = (spec.containers ?? []).filter((container) => readsVariable(container, "DATABASE_URL"));
  return readers.flatMap((container) => {
    const waiting = (spec.initContainers ?? []).find(
      (init) => init.image === container.image && endsWith(argsOf(init), WAIT_FOR_MIGRATIONS),
    );
    if (waiting === undefined) {
      return [
        `${describe(deployment)}: container ${container.name ?? "?"} reads DATABASE_URL but no init container of its image ` +
          `runs \`${WAIT_FOR_MIGRATIONS.join(" ")}\`: it may start against a schema older than its code`,
      ];
    }
    const untold = DATABASE_VARIABLES.filter((name) => readsVariable(container, name) && !readsVariable(waiting, name));
    const migration = resources.find(
      (resource) =>
        isKind(resource, "Job") &&
        namespaceOf(resource.props) === namespaceOf(deployment.props) &&
        containersOf(podSpecOf(resource.type, resource.props) ?? {}).some(
          (job) =>
            job.image === container.image &&
            endsWith(argsOf(job), MIGRATE) &&
            DATABASE_VARIABLES.every((name) => !readsVariable(container, name) || readsVariable(job, name)),
        ),
    );
    return [
      ...untold.map(
        (name) =>
          `${describe(deployment)}: init container ${waiting.name ?? "?"} is not given ${name}, which ${container.name ?? "?"} reads`,
      ),
      ...(migration
        ? []
        : [
            `${describe(deployment)}: no Job in its namespace runs \`migrate\` with image ${container.image ?? "?"} ` +
              "on the databases it reads: its init container would wait for ever",
          ]),
    ];
  });
}

/** A digest a person typed: its hex repeats a run of at most 8 characters (`1111…`, `deadbeef…`). */
export function isPlaceholderDigest(hex: string): boolean {
  for (let period = 1; period <= 8; period += 1) {
    if (
      hex ===
      hex
        .slice(0, period)
        .repeat(Math.ceil(hex.length / period))
        .slice(0, hex.length)
    )
      return true;
  }
  return false;
}

const DIGEST = /@sha256:([a-f0-9]{64})$/;

/** The digest of an image reference when it is a placeholder. */
export function placeholderDigestOf(image: string): string | undefined {
  const hex = DIGEST.exec(image)?.[1];
  return hex !== undefined && isPlaceholderDigest(hex) ? hex : undefined;
}

/**
 * Every image a stack's workloads run, with the object and container that run it: the manifests'
 * containers, and the images Helm releases' values set (what they leave to the chart is the
 * chart's pinned default).
 */
export function imagesOf(
  resources: readonly { type: string; name?: string; props: Record<string, unknown>; urn: string }[],
): { image: string; where: string; urn: string }[] {
  return resources.flatMap((resource) => {
    if (resource.type === HELM_RELEASE)
      return (helmPods({ name: resource.name ?? resource.urn, props: resource.props }) ?? []).flatMap(
        ({ where, image, initImages }) => [
          ...initImages.map((init) => ({
            image: init.image,
            where: `${where} init container ${init.name}`,
            urn: resource.urn,
          })),
          ...(image === undefined ? [] : [{ image, where: `${where} container`, urn: resource.urn }]),
        ],
      );
    return containersOf(podSpecOf(resource.type, resource.props) ?? {})
      .filter((container) => typeof container.image === "string")
      .map((container) => ({
        image: container.image ?? "",
        where: `${describe(resource)} container ${container.name ?? "?"}`,
        urn: resource.urn,
      }));
  });
}

export const PLACEHOLDER_DIGEST_RULE = "paimon-image-digest-not-placeholder";

export const workloadRules = [
  stackRule({
    name: "paimon-deployments-wait-for-migrations",
    description:
      "Every Deployment that reads DATABASE_URL starts after its image's migrations: an init container runs " +
      "`migrate --wait` with the same image, and a Job of that image runs `migrate`.",
    enforcement: "mandatory",
    check: (resources) =>
      resources
        .filter((resource) => isKind(resource, "Deployment"))
        .flatMap((deployment) =>
          migrationProblems(resources, deployment).map((message) => ({ message, urn: deployment.urn })),
        ),
  }),
  stackRule({
    name: "paimon-production-images-by-digest",
    description: "Production runs every workload image by digest: what was reviewed is what runs.",
    enforcement: "mandatory",
    checkov: "CKV_K8S_43",
    productionOnly: true,
    check: (resources) =>
      imagesOf(resources)
        .filter(({ image }) => !DIGEST.test(image))
        .map(({ image, where, urn }) => ({ message: `${where} runs ${image}, which names no @sha256 digest`, urn })),
  }),
  stackRule({
    name: PLACEHOLDER_DIGEST_RULE,
    description:
      "No workload image is pinned to a placeholder digest (a repeated pattern): nothing could pull it, so the stack " +
      "would not run what was reviewed — or at all.",
    enforcement: "advisory",
    check: (resources) => {
      const users = new Map<string, { where: string[]; urn: string }>();
      for (const { image, where, urn } of imagesOf(resources)) {
        if (placeholderDigestOf(image) === undefined) continue;
        const entry = users.get(image) ?? { where: [], urn };
        entry.where.push(where);
        users.set(image, entry);
      }
      return [...users].map(([image, { where, urn }]) => ({
        message:
          `${image} is a placeholder digest, not an image's: put the release's real digest in the stack file ` +
          `(run by ${where.length} container(s): ${where.join("; ")})`,
        urn,
      }));
    },
  }),
];
