import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { MAX_AVAILABILITY_ZONES, planSubnets } from "./subnets";

const range = (cidr: string): [number, number] => {
  const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  const start = address.toByteArray().reduce((acc, byte) => acc * 256 + byte, 0);
  return [start, start + 2 ** (32 - prefix) - 1];
};

describe("planSubnets", () => {
  it("when the VPC is a /16 over three AZs, then each AZ gets a /19 private and /22 public and database subnet", () => {
    expect(planSubnets("10.30.0.0/16", 3)).toEqual({
      private: ["10.30.0.0/19", "10.30.32.0/19", "10.30.64.0/19"],
      public: ["10.30.192.0/22", "10.30.196.0/22", "10.30.200.0/22"],
      database: ["10.30.224.0/22", "10.30.228.0/22", "10.30.232.0/22"],
    });
  });

  it.each([16, 18, 20, 22])(
    "when the VPC is a /%i with six AZs, then no two subnets overlap and all lie inside it",
    (prefix) => {
      const vpc = `10.0.0.0/${prefix}`;
      const plan = planSubnets(vpc, MAX_AVAILABILITY_ZONES);
      const subnets = [...plan.private, ...plan.public, ...plan.database].map(range).sort((a, b) => a[0] - b[0]);
      const [low, high] = range(vpc);
      expect(subnets).toHaveLength(18);
      subnets.forEach(([start, end], index) => {
        expect(start).toBeGreaterThanOrEqual(low);
        expect(end).toBeLessThanOrEqual(high);
        if (index > 0) expect(start).toBeGreaterThan(subnets[index - 1]![1]);
      });
    },
  );

  it("when an AZ is added, then the existing AZs keep their subnets", () => {
    const two = planSubnets("10.20.0.0/16", 2);
    const three = planSubnets("10.20.0.0/16", 3);
    expect(three.private.slice(0, 2)).toEqual(two.private);
    expect(three.public.slice(0, 2)).toEqual(two.public);
    expect(three.database.slice(0, 2)).toEqual(two.database);
  });

  it.each([
    ["10.20.0.1/16", 2, /host bits set; did you mean 10.20.0.0\/16/],
    ["10.20.0.0/24", 2, /too small/],
    ["not-a-cidr", 2, /not an IPv4 CIDR/],
    ["10.20.0.0/16", 0, /from 1 to 6/],
    ["10.20.0.0/16", 7, /from 1 to 6/],
  ])("when given %s over %i AZs, then it refuses with a reason", (cidr, zones, message) => {
    expect(() => planSubnets(cidr, zones)).toThrow(message);
  });
});
