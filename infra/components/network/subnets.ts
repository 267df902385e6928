import ipaddr from "ipaddr.js";

/** The three tiers of the VPC and the CIDR block of each tier in every AZ, in AZ order. */
export interface SubnetPlan {
  /** Load balancers and NAT gateways; the only tier with a route to the internet gateway. */
  readonly public: readonly string[];
  /** EKS nodes and pods; egress through NAT. The largest tier, since the VPC CNI gives every pod a VPC address. */
  readonly private: readonly string[];
  /** RDS, ElastiCache, OpenSearch; no route out of the VPC at all. */
  readonly database: readonly string[];
}

/** More AZs than this would not leave room for the public and database tiers. */
export const MAX_AVAILABILITY_ZONES = 6;

function toInt(address: ipaddr.IPv4): number {
  return address.toByteArray().reduce((acc, byte) => acc * 256 + byte, 0);
}

function toCidr(base: number, prefix: number): string {
  const bytes = [24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256);
  return `${ipaddr.fromByteArray(bytes).toString()}/${prefix}`;
}

/**
 * Splits a VPC range into per-AZ subnets. The range is cut into eight blocks: blocks 0–5 are the
 * private subnets of up to six AZs (an eighth of the VPC each), block 6 is cut into eight public
 * subnets and block 7 into eight database subnets (a sixty-fourth each). For a /16 that is a
 * /19 private, /22 public and /22 database subnet per AZ. The layout depends only on the AZ's
 * index, so adding an AZ later never renumbers an existing subnet.
 */
export function planSubnets(vpcCidr: string, availabilityZoneCount: number): SubnetPlan {
  if (!ipaddr.IPv4.isValidCIDRFourPartDecimal(vpcCidr)) {
    throw new Error(`"${vpcCidr}" is not an IPv4 CIDR block in a.b.c.d/n form`);
  }
  if (
    !Number.isInteger(availabilityZoneCount) ||
    availabilityZoneCount < 1 ||
    availabilityZoneCount > MAX_AVAILABILITY_ZONES
  ) {
    throw new Error(
      `availability zone count must be an integer from 1 to ${MAX_AVAILABILITY_ZONES}, got ${availabilityZoneCount}`,
    );
  }
  const [address, prefix] = ipaddr.IPv4.parseCIDR(vpcCidr);
  if (prefix > 22) throw new Error(`VPC block ${vpcCidr} is too small: use /22 or larger`);
  const base = toInt(address);
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) {
    throw new Error(`"${vpcCidr}" has host bits set; did you mean ${toCidr(base - (base % size), prefix)}?`);
  }
  const block = size / 8;
  const small = block / 8;
  const zones = Array.from({ length: availabilityZoneCount }, (_, index) => index);
  return {
    private: zones.map((index) => toCidr(base + index * block, prefix + 3)),
    public: zones.map((index) => toCidr(base + 6 * block + index * small, prefix + 6)),
    database: zones.map((index) => toCidr(base + 7 * block + index * small, prefix + 6)),
  };
}
