/**
 * `ops opensearch-security apply`, in-process through the real AWS SDK: DescribeDomain and the
 * security API are served over HTTPS by a local stand-in that recomputes every request's SigV4
 * signature with the test's credentials (opensearch-test-server.ts); the endpoint lookup is also
 * run against moto's OpenSearch Service, whose domains carry a VPC endpoint only when created in
 * a VPC.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateDomainCommand, OpenSearchClient } from "@aws-sdk/client-opensearch";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startLocalOpenSearch, type LocalOpenSearch } from "./opensearch-test-server";
import { OPENSEARCH_SECURITY_MANIFEST } from "@paimon/core/workloads";
import { domainEndpoint } from "./opensearch-security";
import { runOpsForTest, startMoto, type LocalServer } from "./testing";

const REGION = "ap-southeast-1";
const DOMAIN = "paimon-test-logs";
const credentials = { accessKeyId: "ASIATESTPOD", secretAccessKey: "pod-secret", sessionToken: "pod-session" };

const writerRole = {
  cluster_permissions: ["cluster_monitor", "cluster_composite_ops"],
  index_permissions: [{ index_patterns: ["paimon-logs-*"], allowed_actions: ["crud", "create_index"] }],
};
const writerMapping = { backend_roles: ["arn:aws:iam::111111111111:role/paimon-test-log-shipper"] };
const adminMapping = { backend_roles: ["arn:aws:iam::111111111111:role/paimon-platform-admin"] };

/** A configuration directory as the chart's ConfigMap mounts it: the manifest, the bodies, `..data`. */
function configDirectory(manifest: unknown, files: Record<string, unknown>): { directory: string; remove: () => void } {
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-opensearch-config-"));
  writeFileSync(path.join(directory, OPENSEARCH_SECURITY_MANIFEST), JSON.stringify(manifest));
  for (const [name, body] of Object.entries(files))
    writeFileSync(path.join(directory, name), typeof body === "string" ? body : `${JSON.stringify(body, null, 2)}\n`);
  // Kubernetes' own bookkeeping in a mounted ConfigMap, which is not a body.
  writeFileSync(path.join(directory, "..data"), "");
  return {
    directory,
    remove: () => {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

const MANIFEST = [
  { path: "roles/paimon_log_writer", file: "roles.paimon_log_writer.json" },
  { path: "rolesmapping/all_access", file: "rolesmapping.all_access.json" },
  { path: "rolesmapping/paimon_log_writer", file: "rolesmapping.paimon_log_writer.json" },
];
const FILES = {
  "roles.paimon_log_writer.json": writerRole,
  "rolesmapping.all_access.json": adminMapping,
  "rolesmapping.paimon_log_writer.json": writerMapping,
};

describe("ops opensearch-security apply", () => {
  let domain: LocalOpenSearch;
  let config: { directory: string; remove: () => void };
  let env: Record<string, string>;
  const apply = (overrides: Record<string, string> = {}, directory = config.directory) =>
    runOpsForTest(["--json", "opensearch-security", "apply", "--config-dir", directory], { ...env, ...overrides });

  beforeAll(async () => {
    domain = await startLocalOpenSearch({ domain: DOMAIN, region: REGION, credentials });
  });
  afterAll(async () => {
    await domain.stop();
  });
  beforeEach(() => {
    // The default provider chain resolves these, as it resolves the pod's web identity.
    vi.stubEnv("AWS_ACCESS_KEY_ID", credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", credentials.secretAccessKey);
    vi.stubEnv("AWS_SESSION_TOKEN", credentials.sessionToken);
    domain.puts.length = 0;
    domain.refused.length = 0;
    domain.resources.clear();
    domain.forbidden.clear();
    config = configDirectory(MANIFEST, FILES);
    env = {
      OPENSEARCH_DOMAIN: DOMAIN,
      AWS_REGION: REGION,
      AWS_OPENSEARCH_ENDPOINT: domain.apiUrl,
      OPENSEARCH_CA_FILE: domain.caFile,
    };
  });
  afterEach(() => {
    config.remove();
    vi.unstubAllEnvs();
  });

  it("when the directory is applied, then each body is PUT in the manifest's order, signed for es, and --json lists it", async () => {
    const run = await apply();
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(domain.refused).toEqual([]);
    expect(domain.puts.map(({ path, body }) => ({ path, body }))).toEqual([
      { path: "roles/paimon_log_writer", body: writerRole },
      { path: "rolesmapping/all_access", body: adminMapping },
      { path: "rolesmapping/paimon_log_writer", body: writerMapping },
    ]);
    // The body's type and the session token of the temporary credentials are under the signature.
    for (const put of domain.puts)
      expect(put.signedHeaders).toEqual(
        expect.arrayContaining(["host", "content-type", "x-amz-date", "x-amz-security-token"]),
      );
    expect(JSON.parse(run.out)).toEqual({
      domain: DOMAIN,
      endpoint: domain.apiUrl,
      applied: MANIFEST.map((request) => ({ ...request, status: 201, outcome: "created" })),
    });
  });

  it("when it is applied a second time, then the domain's configuration is the same and each PUT says updated", async () => {
    expect((await apply()).code).toBe(0);
    const first = new Map(domain.resources);
    const again = await apply();
    expect(again.code).toBe(0);
    expect(domain.resources).toEqual(first);
    expect((JSON.parse(again.out) as { applied: { outcome: string }[] }).applied.map((a) => a.outcome)).toEqual([
      "updated",
      "updated",
      "updated",
    ]);
  });

  it("when the text report is asked for, then it names every request and its outcome", async () => {
    const run = await runOpsForTest(["opensearch-security", "apply", "--config-dir", config.directory], env);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`applied 3 request(s) to ${DOMAIN} (${domain.apiUrl})`);
    expect(run.out).toContain("PUT roles/paimon_log_writer  201 created  (roles.paimon_log_writer.json)");
  });

  it("when the security API answers 403, then the command fails naming the path and the answer, and sends nothing after it", async () => {
    domain.forbidden.add("rolesmapping/all_access");
    const run = await apply();
    expect(run.code).toBe(1);
    expect(run.err).toContain(
      "PUT /_plugins/_security/api/rolesmapping/all_access (rolesmapping.all_access.json): 403",
    );
    expect(run.err).toContain("No permission to access REST API");
    expect(domain.puts.map((put) => put.path)).toEqual(["roles/paimon_log_writer"]);
  });

  it("when the requests are signed with other credentials, then the domain refuses them and the command fails", async () => {
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "not-the-pod-secret");
    const run = await apply();
    expect(run.code).toBe(1);
    expect(run.err).toContain("the signature does not match");
    expect(domain.refused[0]?.reason).toBe("the signature does not match");
    expect(domain.puts).toEqual([]);
  });

  it.each([
    [
      "a role mapping before the role it maps",
      [MANIFEST[2], MANIFEST[0], MANIFEST[1]],
      FILES,
      /requests\.json\[0\]: maps role paimon_log_writer before \[1\] creates it/,
    ],
    ["a file it leaves out", MANIFEST.slice(0, 2), FILES, /does not list rolesmapping\.paimon_log_writer\.json/],
    [
      "a file that is missing",
      MANIFEST,
      { ...FILES, "rolesmapping.all_access.json": undefined },
      /requests\.json\[1\]\.file: .*rolesmapping\.all_access\.json cannot be read/,
    ],
    [
      "a path outside the security API's resources",
      [{ path: "../_cluster/settings", file: "roles.paimon_log_writer.json" }],
      { "roles.paimon_log_writer.json": writerRole },
      /requests\.json\[0\]\.path: must be <actiongroups\|internalusers\|roles\|rolesmapping\|tenants>\/<name>/,
    ],
    ["a body that is not JSON", MANIFEST, { ...FILES, "roles.paimon_log_writer.json": "{ nope" }, /not JSON/],
  ])(
    "when the manifest has %s, then it is refused naming it, before any request",
    async (_case, manifest, files, message) => {
      const present = Object.fromEntries(Object.entries(files).filter(([, body]) => body !== undefined));
      const broken = configDirectory(manifest, present);
      try {
        const run = await apply({}, broken.directory);
        expect(run.code).toBe(64);
        expect(run.err).toMatch(message);
        expect(domain.puts).toEqual([]);
        expect(domain.refused).toEqual([]);
      } finally {
        broken.remove();
      }
    },
  );

  it("when OPENSEARCH_DOMAIN or AWS_REGION is missing, then it is refused naming the variable", async () => {
    const run = await runOpsForTest(["opensearch-security", "apply", "--config-dir", config.directory], {
      AWS_OPENSEARCH_ENDPOINT: domain.apiUrl,
    });
    expect(run.code).toBe(64);
    expect(run.err).toContain("OPENSEARCH_DOMAIN: missing");
    expect(run.err).toContain("AWS_REGION: missing");
  });
});

describe("the domain's endpoint, from moto's DescribeDomain", () => {
  let moto: LocalServer;
  let client: OpenSearchClient;
  beforeAll(async () => {
    moto = await startMoto();
    client = new OpenSearchClient({ region: REGION, endpoint: moto.url, credentials });
  });
  afterAll(async () => {
    client.destroy();
    await moto.stop();
  });

  it("when the domain is in a VPC, then its VPC endpoint is used over HTTPS", async () => {
    await client.send(
      new CreateDomainCommand({
        DomainName: "paimon-vpc-logs",
        EngineVersion: "OpenSearch_2.17",
        VPCOptions: { SubnetIds: ["subnet-11111111"], SecurityGroupIds: ["sg-11111111"] },
      }),
    );
    const endpoint = await domainEndpoint(client, "paimon-vpc-logs");
    expect(endpoint.protocol).toBe("https:");
    expect(endpoint.hostname).toMatch(/^[a-z0-9.-]*paimon-vpc-logs[a-z0-9.-]*\.es\.amazonaws\.com$/);
  });

  it("when the domain has only a public endpoint, then it says so naming the domain", async () => {
    await client.send(new CreateDomainCommand({ DomainName: "paimon-public-logs", EngineVersion: "OpenSearch_2.17" }));
    await expect(domainEndpoint(client, "paimon-public-logs")).rejects.toThrow(
      /OpenSearch domain paimon-public-logs has no VPC endpoint: DescribeDomain returned only the public endpoint/,
    );
  });
});
