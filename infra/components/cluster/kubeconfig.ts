/**
 * A kubeconfig that authenticates with `aws eks get-token`: it holds no credential, so it is
 * safe to export, and access follows the caller's IAM identity and the cluster's access entries.
 */
export function kubeconfig(cluster: {
  readonly clusterName: string;
  readonly endpoint: string;
  readonly certificateAuthority: string;
  readonly region: string;
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: cluster.clusterName,
        cluster: { server: cluster.endpoint, "certificate-authority-data": cluster.certificateAuthority },
      },
    ],
    contexts: [{ name: cluster.clusterName, context: { cluster: cluster.clusterName, user: cluster.clusterName } }],
    "current-context": cluster.clusterName,
    users: [
      {
        name: cluster.clusterName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: [
              "eks",
              "get-token",
              "--cluster-name",
              cluster.clusterName,
              "--region",
              cluster.region,
              "--output",
              "json",
            ],
          },
        },
      },
    ],
  });
}
