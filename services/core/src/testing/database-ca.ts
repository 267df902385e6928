/**
 * A check of Kubernetes workloads: every database connection that verifies the server's
 * certificate has its CA file in the container that makes it. Where the client looks is read
 * as each client reads it — the services (node-postgres through `createDatabase`) take the URL's
 * `sslrootcert`, else `RDS_CA_BUNDLE_PATH`, which their image provides; any other image is taken
 * for a libpq client (pg_dump, psql), which takes the URL's `sslrootcert`, else `PGSSLROOTCERT`,
 * else `~/.postgresql/root.crt`. A file is there when the services' image holds it, or when a
 * volume holds it: a ConfigMap, Secret or projected volume, or an emptyDir that an init
 * container of the services' image fills by copying the image's bundle.
 */
import { RDS_CA_BUNDLE_PATH, serverVerification } from "../db/tls";

interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef?: { readonly key: string } };
}
interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
}
export interface PodContainer {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly volumeMounts?: readonly VolumeMount[];
}
export interface PodSpec {
  readonly containers: readonly PodContainer[];
  readonly initContainers?: readonly PodContainer[];
  readonly volumes?: readonly {
    readonly name: string;
    readonly emptyDir?: unknown;
    readonly configMap?: unknown;
    readonly secret?: unknown;
    readonly projected?: unknown;
  }[];
}
interface Manifest {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec?: {
    readonly template?: { readonly spec?: PodSpec };
    readonly jobTemplate?: { readonly spec?: { readonly template?: { readonly spec?: PodSpec } } };
  };
}

export interface DatabaseCaContext {
  /** The services' image, whose runtime stage puts AWS's RDS bundle at `RDS_CA_BUNDLE_PATH`. */
  readonly servicesImage: string;
  /** The PostgreSQL URL each secret key holds, for the keys that hold one. */
  readonly secretUrls: Readonly<Record<string, string>>;
}

/** One connection that verifies the server, and why its CA is missing, if it is. */
export interface VerifyingConnection {
  /** `<Kind>/<name> <container>`. */
  readonly container: string;
  /** The environment variable that carries the URL (or `PGSSLMODE`). */
  readonly variable: string;
  readonly rootCertPath: string;
  readonly missing?: string;
}

/** The pod spec of every workload kind that runs one. */
export function podsOf(manifests: readonly unknown[]): { readonly workload: string; readonly pod: PodSpec }[] {
  return (manifests as readonly Manifest[]).flatMap((manifest) => {
    const pod = manifest.spec?.template?.spec ?? manifest.spec?.jobTemplate?.spec?.template?.spec;
    return pod ? [{ workload: `${manifest.kind}/${manifest.metadata.name}`, pod }] : [];
  });
}

const POSTGRES_URL = /^postgres(ql)?:\/\//;

function missingFile(pod: PodSpec, container: PodContainer, file: string, servicesImage: string): string | undefined {
  const mount = (container.volumeMounts ?? [])
    .filter((candidate) => file.startsWith(`${candidate.mountPath.replace(/\/$/, "")}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (mount === undefined) {
    return container.image === servicesImage && file === RDS_CA_BUNDLE_PATH
      ? undefined
      : `${file} is neither in the services' image nor on a volume`;
  }
  const volume = pod.volumes?.find((candidate) => candidate.name === mount.name);
  if (volume?.configMap !== undefined || volume?.secret !== undefined || volume?.projected !== undefined)
    return undefined;
  if (volume?.emptyDir === undefined)
    return `${file} is on volume ${mount.name}, which the pod does not define or this check does not know`;
  const inside = file.slice(mount.mountPath.replace(/\/$/, "").length);
  const filled = (pod.initContainers ?? []).some((init) =>
    (init.volumeMounts ?? []).some(
      (own) =>
        own.name === mount.name &&
        init.image === servicesImage &&
        JSON.stringify(init.command) ===
          JSON.stringify(["cp", RDS_CA_BUNDLE_PATH, `${own.mountPath.replace(/\/$/, "")}${inside}`]),
    ),
  );
  return filled
    ? undefined
    : `${file} is on the empty volume ${mount.name}, which no init container fills from the services' image`;
}

/** Every verifying database connection of the workloads, each with what is missing, if anything. */
export function verifyingConnections(manifests: readonly unknown[], context: DatabaseCaContext): VerifyingConnection[] {
  const result: VerifyingConnection[] = [];
  for (const { workload, pod } of podsOf(manifests)) {
    for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
      const plain = new Map((container.env ?? []).flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]])));
      const services = container.image === context.servicesImage;
      const defaultRootCert = services
        ? RDS_CA_BUNDLE_PATH
        : (plain.get("PGSSLROOTCERT") ?? `${plain.get("HOME") ?? "/root"}/.postgresql/root.crt`);
      // libpq takes `PGSSLMODE` for a URL that names no sslmode, and alone with PGHOST.
      const envSslmode = services ? undefined : plain.get("PGSSLMODE");
      const urls = (container.env ?? []).flatMap((variable) => {
        const secretKey = variable.valueFrom?.secretKeyRef?.key;
        const url = variable.value ?? (secretKey === undefined ? undefined : context.secretUrls[secretKey]);
        return url !== undefined && POSTGRES_URL.test(url) ? [{ variable: variable.name, url }] : [];
      });
      if (envSslmode !== undefined && plain.has("PGHOST")) {
        urls.push({ variable: "PGSSLMODE", url: `postgresql://${plain.get("PGHOST") ?? ""}/` });
      }
      for (const { variable, url } of urls) {
        const parsed = new URL(url);
        if (envSslmode !== undefined && !parsed.searchParams.has("sslmode")) {
          parsed.searchParams.set("sslmode", envSslmode);
        }
        const verification = serverVerification(parsed.toString(), defaultRootCert);
        if (verification === undefined) continue;
        const missing = missingFile(pod, container, verification.rootCertPath, context.servicesImage);
        result.push({
          container: `${workload} ${container.name}`,
          variable,
          rootCertPath: verification.rootCertPath,
          ...(missing === undefined ? {} : { missing }),
        });
      }
    }
  }
  return result;
}
