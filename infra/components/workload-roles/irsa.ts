import type * as aws from "@pulumi/aws";
import type { ServiceAccountRef } from "../../names";

/** The `sub` claim of a service account's projected token: what an IRSA trust names. */
export const serviceAccountSubject = (account: ServiceAccountRef): string =>
  `system:serviceaccount:${account.namespace}:${account.name}`;

/**
 * Trust policy of an IRSA role: only the named service account of the named namespace, with
 * tokens issued by this cluster's OIDC provider for STS, may assume it.
 * @param issuer the OIDC issuer without its scheme (`oidc.eks.<region>.amazonaws.com/id/<id>`)
 */
export function irsaTrustPolicy(
  oidcProviderArn: string,
  issuer: string,
  account: ServiceAccountRef,
): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ServiceAccountFederation",
        Effect: "Allow",
        Principal: { Federated: oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${issuer}:sub`]: serviceAccountSubject(account),
            [`${issuer}:aud`]: "sts.amazonaws.com",
          },
        },
      },
    ],
  };
}

/** Trust policy letting one AWS service assume a role (EKS control plane, EC2 nodes, …). */
export function serviceTrustPolicy(service: string): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ServiceAssumesRole", Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" },
    ],
  };
}
