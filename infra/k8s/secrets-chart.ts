import { ApiObject, Chart, type ChartProps } from "cdk8s";
import type { Construct } from "constructs";
import { MONITORING_NAMESPACE } from "@paimon/monitoring/outputs";
import { SERVICE_ACCOUNTS } from "../components/workload-roles/platform";
import { SECRET_NAME, type WorkloadValues } from "./values";

/** The keys of `paimon-secrets`, each the Secrets Manager secret `<prefix>/<key>`. */
export const SECRET_KEYS = [
  "bsc-rpc-url",
  "bsc-ws-url",
  "database-url",
  "jwt-secret",
  "kms-key-id",
  "metrics-database-url",
  "origin-verify",
  "pagerduty-key",
  "redis-url",
  "timescaledb-password",
] as const;

/** What Alertmanager and the exporters in the monitoring namespace read. */
export const MONITORING_SECRET_KEYS = [
  "database-url",
  "pagerduty-key",
  "redis-url",
  "slack-webhook-url",
  "smtp-password",
  "timescaledb-password",
] as const;

/** Every key some namespace syncs: Secrets Manager must hold each of them (the program's secrets are typed by it). */
export type SyncedSecretKey = (typeof SECRET_KEYS)[number] | (typeof MONITORING_SECRET_KEYS)[number];

export const SECRET_STORE = "aws-secrets-manager";

export interface SecretsChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * Replaces the seed's plain-text §2.4 Secret: External Secrets syncs `paimon/<stack>/*` from
 * Secrets Manager into `paimon-secrets`, refreshed hourly; nothing secret is in the repository.
 * One ClusterSecretStore authenticates as the external-secrets controller's own service account,
 * whose IRSA role reads only this stack's prefix — a namespaced SecretStore may not name a service
 * account of another namespace — and serves only the namespaces that sync from it: the fund's,
 * and the monitoring namespace for the keys Alertmanager and the exporters need.
 */
export class SecretsChart extends Chart {
  constructor(scope: Construct, id: string, props: SecretsChartProps) {
    super(scope, id, props);
    const { values } = props;
    const syncs = [
      { namespace: values.namespace, keys: SECRET_KEYS },
      { namespace: MONITORING_NAMESPACE, keys: MONITORING_SECRET_KEYS },
    ];
    const { namespace, name } = SERVICE_ACCOUNTS.externalSecrets;
    new ApiObject(this, "store", {
      apiVersion: "external-secrets.io/v1beta1",
      kind: "ClusterSecretStore",
      metadata: { name: SECRET_STORE },
      spec: {
        conditions: [{ namespaces: syncs.map((sync) => sync.namespace) }],
        provider: {
          aws: {
            service: "SecretsManager",
            region: values.region,
            auth: { jwt: { serviceAccountRef: { name, namespace } } },
          },
        },
      },
    });
    for (const sync of syncs) {
      new ApiObject(this, `external-secret-${sync.namespace}`, {
        apiVersion: "external-secrets.io/v1beta1",
        kind: "ExternalSecret",
        metadata: { name: SECRET_NAME, namespace: sync.namespace },
        spec: {
          refreshInterval: "1h",
          secretStoreRef: { kind: "ClusterSecretStore", name: SECRET_STORE },
          target: { name: SECRET_NAME, creationPolicy: "Owner", deletionPolicy: "Retain" },
          data: sync.keys.map((key) => ({ secretKey: key, remoteRef: { key: `${values.secretPrefix}/${key}` } })),
        },
      });
    }
  }
}
