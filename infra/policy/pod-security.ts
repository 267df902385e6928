import { get } from "./rule";

/**
 * The Kubernetes Pod Security Standards (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * evaluated on a pod spec the way the `pod-security.kubernetes.io/enforce` admission would:
 * `privileged` (unrestricted), `baseline` (no known privilege escalation) and `restricted`
 * (hardened). A pod is at the highest level whose every control it passes.
 */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";
export const LEVEL_ORDER: Readonly<Record<PodSecurityLevel, number>> = { privileged: 0, baseline: 1, restricted: 2 };

/** One control a pod fails, and the level it keeps the pod from. */
export interface PodSecurityProblem {
  /** The level this breaks: `baseline` means the pod is `privileged`; `restricted`, that it is at most `baseline`. */
  readonly breaks: "baseline" | "restricted";
  /** The control, as the standard names it. */
  readonly control: string;
  readonly text: string;
}

export interface PodSecurity {
  readonly level: PodSecurityLevel;
  readonly problems: readonly PodSecurityProblem[];
  /** Hardening beyond the standard that the platform requires too. */
  readonly writableRootFilesystem: readonly string[];
  readonly missingLimits: readonly string[];
}

type Props = Record<string, unknown>;

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
const RESTRICTED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

const list = (value: unknown): Props[] =>
  Array.isArray(value) ? value.filter((item): item is Props => !!item && typeof item === "object") : [];
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const truthy = (value: unknown) => value === true || value === "true";
const text = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value));

/** The pod spec of a workload manifest (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod). */
export function podSpecOfManifest(type: string, props: Props): Props | undefined {
  const kind = type.startsWith("kubernetes:") ? type.split(":").pop() : undefined;
  const spec =
    kind === "CronJob"
      ? get(props, "spec", "jobTemplate", "spec", "template", "spec")
      : kind === "Pod"
        ? get(props, "spec")
        : kind && ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(kind)
          ? get(props, "spec", "template", "spec")
          : undefined;
  return spec && typeof spec === "object" ? (spec as Props) : undefined;
}

/** Evaluates a pod spec against the standard. */
export function podSecurity(spec: Props): PodSecurity {
  const problems: PodSecurityProblem[] = [];
  const add = (breaks: PodSecurityProblem["breaks"], control: string, text: string) =>
    problems.push({ breaks, control, text });
  const pod = (get(spec, "securityContext") ?? {}) as Props;
  for (const namespace of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (truthy(spec[namespace])) add("baseline", "Host Namespaces", `${namespace}: true`);
  }
  for (const volume of list(spec["volumes"])) {
    const kinds = Object.keys(volume).filter((key) => key !== "name");
    if (kinds.includes("hostPath")) add("baseline", "HostPath Volumes", `volume ${text(volume["name"])} is a hostPath`);
    else if (kinds.some((kind) => !RESTRICTED_VOLUMES.has(kind)))
      add("restricted", "Volume Types", `volume ${text(volume["name"])} is of type ${kinds.join(", ")}`);
  }
  const podSeccomp = get(pod, "seccompProfile", "type");
  if (podSeccomp === "Unconfined") add("baseline", "Seccomp", "the pod's seccompProfile is Unconfined");
  if (pod["runAsUser"] === 0) add("restricted", "Running as Non-root user", "the pod runs as UID 0 (root)");

  const containers = [
    ...list(spec["initContainers"]).map((container) => ({ container, init: true })),
    ...list(spec["containers"]).map((container) => ({ container, init: false })),
    ...list(spec["ephemeralContainers"]).map((container) => ({ container, init: true })),
  ];
  const writableRootFilesystem: string[] = [];
  const missingLimits: string[] = [];
  for (const { container, init } of containers) {
    const name = `container ${text(container["name"] ?? "?")}`;
    const context = (get(container, "securityContext") ?? {}) as Props;
    if (truthy(context["privileged"])) add("baseline", "Privileged Containers", `${name} is privileged`);
    const added = strings(get(context, "capabilities", "add")).map((capability) => capability.toUpperCase());
    const beyondBaseline = added.filter((capability) => !BASELINE_CAPABILITIES.has(capability));
    if (beyondBaseline.length > 0) add("baseline", "Capabilities", `${name} adds ${beyondBaseline.join(", ")}`);
    if (list(container["ports"]).some((port) => Number(port["hostPort"] ?? 0) > 0))
      add("baseline", "Host Ports", `${name} binds a host port`);
    if (context["procMount"] !== undefined && context["procMount"] !== "Default")
      add("baseline", "/proc Mount Type", `${name} mounts /proc ${text(context["procMount"])}`);
    const seccomp = get(context, "seccompProfile", "type") ?? podSeccomp;
    if (get(context, "seccompProfile", "type") === "Unconfined")
      add("baseline", "Seccomp", `${name}'s seccompProfile is Unconfined`);
    else if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
      add("restricted", "Seccomp", `${name} sets no RuntimeDefault seccompProfile`);
    if (context["allowPrivilegeEscalation"] !== false)
      add("restricted", "Privilege Escalation", `${name} allows privilege escalation`);
    const runAsUser = context["runAsUser"] ?? pod["runAsUser"];
    const runAsNonRoot = context["runAsNonRoot"] ?? pod["runAsNonRoot"];
    if (context["runAsUser"] === 0) add("restricted", "Running as Non-root user", `${name} runs as UID 0 (root)`);
    else if (runAsNonRoot !== true && !(typeof runAsUser === "number" && runAsUser > 0))
      add("restricted", "Running as Non-root", `${name} may run as root (runAsNonRoot is not true)`);
    else if (runAsNonRoot === false) add("restricted", "Running as Non-root", `${name} sets runAsNonRoot: false`);
    const dropped = strings(get(context, "capabilities", "drop")).map((capability) => capability.toUpperCase());
    if (!dropped.includes("ALL")) add("restricted", "Capabilities", `${name} does not drop ALL capabilities`);
    const beyondRestricted = added.filter((capability) => capability !== "NET_BIND_SERVICE");
    if (beyondRestricted.length > 0 && beyondBaseline.length === 0)
      add("restricted", "Capabilities", `${name} adds ${beyondRestricted.join(", ")}`);
    if (context["readOnlyRootFilesystem"] !== true) writableRootFilesystem.push(name);
    if (!init || container["resources"] !== undefined) {
      const limits = get(container, "resources", "limits") as Props | undefined;
      const missing = ["cpu", "memory"].filter((resource) => limits?.[resource] === undefined);
      if (missing.length > 0) missingLimits.push(`${name} has no ${missing.join(" or ")} limit`);
    }
  }
  const level: PodSecurityLevel = problems.some((problem) => problem.breaks === "baseline")
    ? "privileged"
    : problems.length > 0
      ? "baseline"
      : "restricted";
  return { level, problems, writableRootFilesystem, missingLimits };
}
