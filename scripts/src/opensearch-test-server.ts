/**
 * A local HTTPS server playing an OpenSearch Service domain for the tests: the OpenSearch Service
 * API's DescribeDomain (the real JSON shape, the VPC endpoint being this server) and the security
 * plugin's API. Every request's SigV4 `Authorization` is recomputed with the same signer and the
 * test's credentials; a request whose signature differs, or that is not signed for `es` in the
 * region, is refused with 403 as AWS would. What the security API was given is recorded in order.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Sha256 } from "@smithy/core/checksum";
import { HttpRequest } from "@smithy/core/protocols";
import { SignatureV4 } from "@smithy/signature-v4";
import { SECURITY_API_PATH } from "./opensearch-security";

export interface DomainCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface RecordedPut {
  readonly path: string;
  readonly body: unknown;
  /** The headers its signature covers. */
  readonly signedHeaders: readonly string[];
}

export interface LocalOpenSearch {
  /** The OpenSearch Service API (`AWS_OPENSEARCH_ENDPOINT`). */
  readonly apiUrl: string;
  /** The PEM file of the server's certificate (`OPENSEARCH_CA_FILE`). */
  readonly caFile: string;
  /** Every PUT the security API accepted, in order. */
  readonly puts: RecordedPut[];
  /** Every request refused, with why. */
  readonly refused: { readonly path: string; readonly reason: string }[];
  /** The security configuration as the domain holds it: resource path → body. */
  readonly resources: Map<string, unknown>;
  /** Paths the security API answers 403, as a role without the permission gets. */
  readonly forbidden: Set<string>;
  stop(): Promise<void>;
}

const readBody = async (request: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

/** `20260101T120000Z` → the Date SigV4 signed at. */
const amzDate = (value: string) =>
  new Date(value.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, "$1-$2-$3T$4:$5:$6Z"));

export async function startLocalOpenSearch(options: {
  readonly domain: string;
  readonly region: string;
  readonly credentials: DomainCredentials;
}): Promise<LocalOpenSearch> {
  const directory = mkdtempSync(path.join(tmpdir(), "paimon-opensearch-"));
  const [key, cert] = [path.join(directory, "key.pem"), path.join(directory, "cert.pem")];
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"],
      ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
    ],
    { stdio: "ignore" },
  );
  const signer = new SignatureV4({
    service: "es",
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const puts: RecordedPut[] = [];
  const refused: { path: string; reason: string }[] = [];
  const resources = new Map<string, unknown>();
  const forbidden = new Set<string>();

  /** Why the request's signature is not the one its credentials give, or undefined when it is. */
  const signatureProblem = async (request: IncomingMessage, body: string, url: URL) => {
    const authorization = request.headers.authorization ?? "";
    const parsed =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
        authorization,
      );
    if (!parsed) return `not a SigV4 Authorization header: ${JSON.stringify(authorization)}`;
    const [, accessKeyId, , region, service, signedHeaders = ""] = parsed;
    if (accessKeyId !== options.credentials.accessKeyId) return `unknown access key ${accessKeyId ?? ""}`;
    if (service !== "es" || region !== options.region) return `signed for ${service ?? ""} in ${region ?? ""}`;
    const headers: Record<string, string> = {};
    for (const name of signedHeaders.split(";")) {
      const value = request.headers[name];
      if (typeof value !== "string") return `signed header ${name} is missing`;
      headers[name] = value;
    }
    const date = request.headers["x-amz-date"];
    if (typeof date !== "string") return "no x-amz-date";
    const expected = await signer.sign(
      new HttpRequest({
        method: request.method ?? "GET",
        protocol: "https:",
        hostname: url.hostname,
        port: Number(url.port),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body,
      }),
      { signingDate: amzDate(date) },
    );
    return expected.headers["authorization"] === authorization ? undefined : "the signature does not match";
  };

  const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (request, response) => {
    void (async () => {
      const body = await readBody(request);
      const url = new URL(request.url ?? "/", `https://${request.headers.host ?? "127.0.0.1"}`);
      const reply = (status: number, value: unknown) => {
        response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
      };
      const problem = await signatureProblem(request, body, url);
      if (problem !== undefined) {
        refused.push({ path: url.pathname, reason: problem });
        reply(403, {
          message: `The request signature we calculated does not match the signature you provided: ${problem}`,
        });
        return;
      }
      if (request.method === "GET" && url.pathname === `/2021-01-01/opensearch/domain/${options.domain}`) {
        const { port } = server.address() as AddressInfo;
        reply(200, {
          DomainStatus: {
            ARN: `arn:aws:es:${options.region}:111111111111:domain/${options.domain}`,
            DomainId: `111111111111/${options.domain}`,
            DomainName: options.domain,
            Created: true,
            Deleted: false,
            Processing: false,
            EngineVersion: "OpenSearch_2.17",
            ClusterConfig: { InstanceType: "t3.medium.search", InstanceCount: 1 },
            Endpoints: { vpc: `127.0.0.1:${port}` },
            VPCOptions: { SubnetIds: ["subnet-11111111"], SecurityGroupIds: ["sg-11111111"], VPCId: "vpc-11111111" },
            AdvancedSecurityOptions: { Enabled: true, InternalUserDatabaseEnabled: false },
          },
        });
        return;
      }
      const resource = url.pathname.startsWith(`${SECURITY_API_PATH}/`)
        ? url.pathname.slice(SECURITY_API_PATH.length + 1)
        : undefined;
      if (request.method !== "PUT" || resource === undefined) {
        reply(404, { error: `no handler for ${request.method ?? ""} ${url.pathname}` });
        return;
      }
      if (forbidden.has(resource)) {
        refused.push({ path: url.pathname, reason: "forbidden" });
        reply(403, { status: "FORBIDDEN", message: "No permission to access REST API: User with no security role" });
        return;
      }
      const name = resource.split("/")[1] ?? "";
      const parsed = JSON.parse(body) as unknown;
      const signedHeaders = /SignedHeaders=([^,]+)/.exec(request.headers.authorization ?? "")?.[1]?.split(";") ?? [];
      puts.push({ path: resource, body: parsed, signedHeaders });
      const existed = resources.has(resource);
      resources.set(resource, parsed);
      reply(
        existed ? 200 : 201,
        existed
          ? { status: "OK", message: `'${name}' updated.` }
          : { status: "CREATED", message: `'${name}' created.` },
      );
    })().catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `https://127.0.0.1:${port}`,
    caFile: cert,
    puts,
    refused,
    resources,
    forbidden,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
