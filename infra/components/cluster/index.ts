import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { WorkloadRole } from "../workload-roles";
import { ebsCsiKmsPolicy } from "../workload-roles/policies";
import { serviceTrustPolicy } from "../workload-roles/irsa";
import { kubeconfig } from "./kubeconfig";

/** The five EKS control-plane log types; all are kept (CKV_AWS_37). */
export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"] as const;

export interface NodeGroupSpec {
  readonly instanceTypes: readonly string[];
  readonly capacityType: "ON_DEMAND" | "SPOT";
  readonly minSize: number;
  readonly desiredSize: number;
  readonly maxSize: number;
  readonly diskSizeGiB: number;
}

export interface ClusterArgs {
  /** The EKS cluster's name, e.g. `paimon-staging`. */
  readonly clusterName: string;
  /** Kubernetes minor version, pinned. */
  readonly kubernetesVersion: string;
  readonly region: string;
  /** The partition for managed-policy ARNs. @default "aws" */
  readonly partition?: string;
  /** Private subnets: the control plane's network interfaces and every node live here. */
  readonly privateSubnetIds: pulumi.Input<string>[];
  /** Ranges that may reach the public API endpoint; empty leaves the endpoint private only. */
  readonly publicAccessCidrs: readonly string[];
  /** Roles given cluster-admin through access entries (the creator gets nothing implicitly). */
  readonly adminRoleArns: readonly string[];
  /** Envelope-encrypts Kubernetes secrets, node volumes and the control-plane logs. */
  readonly dataKeyArn: pulumi.Input<string>;
  readonly nodeGroups: Readonly<Record<string, NodeGroupSpec>>;
  /** Refuse `DeleteCluster` while set. @default true */
  readonly deletionProtection?: boolean;
  /** Days the control-plane log group keeps records. */
  readonly logRetentionDays: number;
}

/**
 * EKS: a private cluster (public endpoint only from allow-listed ranges) with secrets
 * envelope-encrypted by the data key, every control-plane log on, managed node groups across the
 * private subnets on launch templates that require IMDSv2 and encrypt their gp3 root volumes, an
 * OIDC provider for IRSA, the VPC CNI (with network-policy enforcement) and EBS CSI driver on
 * their own roles, and a default encrypted gp3 StorageClass.
 */
export class Cluster extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;
  /** The OIDC issuer without `https://`, as IRSA trust conditions name it. */
  readonly oidcIssuer: pulumi.Output<string>;
  /** The cluster security group, which EKS attaches to every managed node. */
  readonly nodeSecurityGroupId: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  /** A Kubernetes provider for this cluster, for everything deployed into it. */
  readonly provider: k8s.Provider;
  /** The default StorageClass: gp3, encrypted with the data key. */
  readonly storageClassName: string;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("paimon:compute:Cluster", name, {}, opts);
    if (Object.keys(args.nodeGroups).length === 0) {
      throw new pulumi.ResourceError("nodeGroups: a cluster needs at least one node group", this);
    }
    if (args.publicAccessCidrs.some((cidr) => cidr.endsWith("/0"))) {
      throw new pulumi.ResourceError("publicAccessCidrs: the API endpoint is never open to the whole internet", this);
    }
    const partition = args.partition ?? "aws";
    const managed = (policy: string) => `arn:${partition}:iam::aws:policy/${policy}`;
    const child = { parent: this };

    const clusterRole = new aws.iam.Role(
      `${name}-control-plane`,
      {
        description: `EKS control plane of ${args.clusterName}`,
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("eks.amazonaws.com")),
      },
      child,
    );
    const clusterPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-control-plane`,
      { role: clusterRole.name, policyArn: managed("AmazonEKSClusterPolicy") },
      child,
    );

    // EKS writes to this name; creating it first gives it our retention and key.
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-control-plane-logs`,
      {
        name: `/aws/eks/${args.clusterName}/cluster`,
        retentionInDays: args.logRetentionDays,
        kmsKeyId: args.dataKeyArn,
      },
      child,
    );

    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        name: args.clusterName,
        version: args.kubernetesVersion,
        roleArn: clusterRole.arn,
        vpcConfig: {
          subnetIds: args.privateSubnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: args.publicAccessCidrs.length > 0,
          publicAccessCidrs: [...args.publicAccessCidrs],
        },
        encryptionConfig: { provider: { keyArn: args.dataKeyArn }, resources: ["secrets"] },
        enabledClusterLogTypes: [...CONTROL_PLANE_LOG_TYPES],
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
        deletionProtection: args.deletionProtection ?? true,
        upgradePolicy: { supportType: "STANDARD" },
      },
      { ...child, dependsOn: [clusterPolicy, logGroup] },
    );
    this.clusterName = cluster.name;
    this.endpoint = cluster.endpoint;
    this.nodeSecurityGroupId = cluster.vpcConfig.apply((config) => config.clusterSecurityGroupId);
    const issuerUrl = cluster.identities.apply((identities) => identities[0]?.oidcs[0]?.issuer ?? "");
    this.oidcIssuer = issuerUrl.apply((url) => url.replace(/^https:\/\//, ""));

    const certificate = tls.getCertificateOutput({ url: issuerUrl }, { parent: this });
    const oidc = new aws.iam.OpenIdConnectProvider(
      `${name}-oidc`,
      {
        url: issuerUrl,
        clientIdLists: ["sts.amazonaws.com"],
        thumbprintLists: certificate.certificates.apply((chain) => [chain[chain.length - 1]?.sha1Fingerprint ?? ""]),
      },
      child,
    );
    this.oidcProviderArn = oidc.arn;

    args.adminRoleArns.forEach((principalArn, index) => {
      const entry = new aws.eks.AccessEntry(
        `${name}-admin-${index}`,
        { clusterName: cluster.name, principalArn, type: "STANDARD" },
        child,
      );
      new aws.eks.AccessPolicyAssociation(
        `${name}-admin-${index}`,
        {
          clusterName: cluster.name,
          principalArn: entry.principalArn,
          policyArn: `arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
          accessScope: { type: "cluster" },
        },
        child,
      );
    });

    const nodeRole = new aws.iam.Role(
      `${name}-nodes`,
      {
        description: `Managed nodes of ${args.clusterName}; pods get their own roles through IRSA`,
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ec2.amazonaws.com")),
      },
      child,
    );
    const nodePolicies = [
      "AmazonEKSWorkerNodePolicy",
      "AmazonEC2ContainerRegistryReadOnly",
      "AmazonSSMManagedInstanceCore",
    ].map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(
          `${name}-nodes-${policy}`,
          { role: nodeRole.name, policyArn: managed(policy) },
          child,
        ),
    );

    const irsa = { oidcProviderArn: oidc.arn, oidcIssuer: this.oidcIssuer };
    const cniRole = new WorkloadRole(
      `${name}-vpc-cni`,
      {
        ...irsa,
        roleName: `${args.clusterName}-vpc-cni`,
        description: "VPC CNI (aws-node): pod networking, off the node role",
        serviceAccount: { namespace: "kube-system", name: "aws-node" },
        managedPolicyArns: [managed("AmazonEKS_CNI_Policy")],
      },
      child,
    );
    const ebsRole = new WorkloadRole(
      `${name}-ebs-csi`,
      {
        ...irsa,
        roleName: `${args.clusterName}-ebs-csi`,
        description: "EBS CSI driver: provisions encrypted volumes",
        serviceAccount: { namespace: "kube-system", name: "ebs-csi-controller-sa" },
        managedPolicyArns: [managed("service-role/AmazonEBSCSIDriverPolicy")],
        policy: pulumi.output(args.dataKeyArn).apply(ebsCsiKmsPolicy),
      },
      child,
    );

    const groups = Object.entries(args.nodeGroups).map(([group, spec]) => {
      const template = new aws.ec2.LaunchTemplate(
        `${name}-${group}`,
        {
          description: `${args.clusterName} ${group} nodes: IMDSv2 only, encrypted gp3 root`,
          updateDefaultVersion: true,
          metadataOptions: {
            httpEndpoint: "enabled",
            httpTokens: "required",
            // One hop: pods cannot reach the node's credentials; they use IRSA.
            httpPutResponseHopLimit: 1,
            instanceMetadataTags: "disabled",
          },
          blockDeviceMappings: [
            {
              deviceName: "/dev/xvda",
              ebs: {
                volumeSize: spec.diskSizeGiB,
                volumeType: "gp3",
                encrypted: "true",
                kmsKeyId: args.dataKeyArn,
                deleteOnTermination: "true",
              },
            },
          ],
          monitoring: { enabled: true },
        },
        child,
      );
      return new aws.eks.NodeGroup(
        `${name}-${group}`,
        {
          clusterName: cluster.name,
          nodeGroupName: `${args.clusterName}-${group}`,
          nodeRoleArn: nodeRole.arn,
          subnetIds: args.privateSubnetIds,
          instanceTypes: [...spec.instanceTypes],
          capacityType: spec.capacityType,
          amiType: "AL2023_x86_64_STANDARD",
          scalingConfig: { minSize: spec.minSize, desiredSize: spec.desiredSize, maxSize: spec.maxSize },
          updateConfig: { maxUnavailable: 1 },
          launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
          labels: { "paimon.fund/node-group": group },
        },
        // The cluster autoscaler owns the desired size once the group exists.
        { ...child, dependsOn: nodePolicies, ignoreChanges: ["scalingConfig.desiredSize"] },
      );
    });

    const addon = (addonName: string, extra: Partial<aws.eks.AddonArgs> = {}) =>
      new aws.eks.Addon(
        `${name}-${addonName}`,
        {
          clusterName: cluster.name,
          addonName,
          resolveConflictsOnCreate: "OVERWRITE",
          resolveConflictsOnUpdate: "PRESERVE",
          ...extra,
        },
        { ...child, dependsOn: groups },
      );
    addon("vpc-cni", {
      serviceAccountRoleArn: cniRole.roleArn,
      // Without this the cluster accepts NetworkPolicy objects and enforces none of them.
      configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
    });
    addon("coredns");
    addon("kube-proxy");
    const ebsCsi = addon("aws-ebs-csi-driver", { serviceAccountRoleArn: ebsRole.roleArn });

    this.kubeconfig = pulumi
      .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
      .apply(([clusterName, endpoint, authority]) =>
        kubeconfig({ clusterName, endpoint, certificateAuthority: authority.data, region: args.region }),
      );
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: this.kubeconfig, enableServerSideApply: true },
      { ...child, dependsOn: groups },
    );

    this.storageClassName = "gp3-encrypted";
    const k8sChild = { parent: this, provider: this.provider, dependsOn: [ebsCsi] };
    // EKS ships gp2 as the default class; two defaults would make the choice arbitrary.
    new k8s.storage.v1.StorageClassPatch(
      `${name}-gp2-not-default`,
      { metadata: { name: "gp2", annotations: { "storageclass.kubernetes.io/is-default-class": "false" } } },
      k8sChild,
    );
    new k8s.storage.v1.StorageClass(
      `${name}-gp3-encrypted`,
      {
        metadata: {
          name: this.storageClassName,
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true", kmsKeyId: args.dataKeyArn },
        reclaimPolicy: "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      k8sChild,
    );

    this.registerOutputs({
      clusterName: this.clusterName,
      endpoint: this.endpoint,
      oidcProviderArn: this.oidcProviderArn,
      nodeSecurityGroupId: this.nodeSecurityGroupId,
    });
  }
}
