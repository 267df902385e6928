import { ApiObject, Chart, type ChartProps } from "cdk8s";
import type { Construct } from "constructs";
import { MONITORING_NAMESPACE } from "@paimon/monitoring/outputs";
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
 * The store authenticates as the external-secrets controller, whose IRSA role reads only this
 * stack's prefix. The monitoring namespace gets the keys Alertmanager and the exporters need.
 */
export class SecretsChart extends Chart {
  constructor(scope: Construct, id: string, props: SecretsChartProps) {
    super(scope, id, props);
    const { values } = props;
    const sync = (namespace: string, keys: readonly string[]) => {
      new ApiObject(this, `store-${namespace}`, {
        apiVersion: "external-secrets.io/v1beta1",
        kind: "SecretStore",
        metadata: { name: SECRET_STORE, namespace },
        spec: {
          provider: {
            aws: {
              service: "SecretsManager",
              region: values.region,
              auth: { jwt: { serviceAccountRef: { name: "external-secrets", namespace: "external-secrets" } } },
            },
          },
        },
      });
      new ApiObject(this, `external-secret-${namespace}`, {
        apiVersion: "external-secrets.io/v1beta1",
        kind: "ExternalSecret",
        metadata: { name: SECRET_NAME, namespace },
        spec: {
          refreshInterval: "1h",
          secretStoreRef: { kind: "SecretStore", name: SECRET_STORE },
          target: { name: SECRET_NAME, creationPolicy: "Owner", deletionPolicy: "Retain" },
          data: keys.map((key) => ({ secretKey: key, remoteRef: { key: `${values.secretPrefix}/${key}` } })),
        },
      });
    };
    sync(values.namespace, SECRET_KEYS);
    sync(MONITORING_NAMESPACE, MONITORING_SECRET_KEYS);
  }
}
