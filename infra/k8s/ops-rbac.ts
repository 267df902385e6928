import { Chart, type ChartProps } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import type { Construct } from "constructs";
import { WRITER_DEPLOYMENTS } from "@paimon/core/workloads";
import { SERVICE_ACCOUNTS } from "../components/workload-roles/platform";
import { backupJobName } from "./backups-chart";
import { selectorLabels } from "./pod";
import { asRole, tcpPorts } from "./plus";
import type { WorkloadValues } from "./values";

/** The Role (and its binding) a restore runs under: `ops restore` and `ops dr-drill` in a pod. */
export const OPS_WRITERS_ROLE = "paimon-ops-writers";

export interface OpsRbacChartProps extends ChartProps {
  readonly values: WorkloadValues;
}

/**
 * What `ops restore` needs of the Kubernetes API to stop the writers, for the service account the
 * PostgreSQL backup runs as (the one whose IAM role reads the dumps): read and patch the `scale`
 * of exactly the listener's and the workers' Deployments — not the Deployments themselves, whose
 * pod template would let it run anything under their service accounts, the signer's included —
 * and list and watch pods, to see theirs go. And the way to the API server: the cluster's private
 * endpoint is inside the VPC, which the namespace's HTTPS egress leaves out.
 *
 * cdk8s-plus writes one rule per resource name: four rules granting `get` and `patch` on one
 * Deployment's `scale` each, equal in effect to one rule listing the four names.
 */
export class OpsRbacChart extends Chart {
  constructor(scope: Construct, id: string, props: OpsRbacChartProps) {
    super(scope, id, { ...props, namespace: props.values.namespace });
    const { values } = props;
    const labels = { "app.kubernetes.io/name": OPS_WRITERS_ROLE, "app.kubernetes.io/part-of": "paimon" };
    const role = new kplus.Role(this, "role", { metadata: { name: OPS_WRITERS_ROLE, labels } });
    const scaleOf = (deployment: string): kplus.IApiResource => ({
      apiGroup: "apps",
      resourceType: "deployments/scale",
      resourceName: deployment,
    });
    role.allow(["get", "patch"], ...WRITER_DEPLOYMENTS.map(scaleOf));
    // A list or a watch cannot be narrowed by name: pods are read, never changed.
    role.allow(["list", "watch"], kplus.ApiResource.PODS);
    const binding = new kplus.RoleBinding(this, "binding", {
      metadata: { name: OPS_WRITERS_ROLE, labels },
      role: asRole(role),
    });
    binding.addSubjects(
      kplus.ServiceAccount.fromServiceAccountName(
        this,
        "postgres-backup-account",
        SERVICE_ACCOUNTS.postgresBackup.name,
        {
          namespaceName: values.namespace,
        },
      ),
    );
    new kplus.NetworkPolicy(this, "kubernetes-api", {
      metadata: { name: "allow-kubernetes-api", labels },
      selector: kplus.Pods.select(this, "postgres-backup", { labels: selectorLabels(backupJobName("postgres")) }),
      egress: { rules: [{ peer: kplus.NetworkPolicyIpBlock.ipv4(this, "vpc", values.vpcCidr), ports: tcpPorts(443) }] },
    });
  }
}
