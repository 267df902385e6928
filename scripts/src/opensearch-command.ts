/**
 * `ops opensearch-security apply`: its configuration (the environment, checked once, naming the
 * variable) and its composition — the OpenSearch Service client that finds the domain, whose
 * credentials (the default provider chain: the pod's IRSA web identity) also sign the domain's
 * requests, and the one HTTPS handler that sends both.
 */
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { OpenSearchClient } from "@aws-sdk/client-opensearch";
import { loadConfig, urlSchema } from "@paimon/core/config";
import { Sha256 } from "@smithy/core/checksum";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { SignatureV4 } from "@smithy/signature-v4";
import { z } from "zod";
import { configurationError } from "./kinds";
import { applySecurityConfig, domainEndpoint, readSecurityConfig, type AppliedRequest } from "./opensearch-security";

/** The service name SigV4 signs an OpenSearch Service domain's requests for. */
const SIGNING_SERVICE = "es";
const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 60_000;

export const opensearchEnvSchema = z.object({
  /** The domain whose security configuration is applied. */
  OPENSEARCH_DOMAIN: z
    .string()
    .regex(/^[a-z][a-z0-9-]{2,27}$/, "must be an OpenSearch domain name (3-28 lower-case letters, digits, hyphens)"),
  /** The domain's region: DescribeDomain is asked there and the requests are signed for it. */
  AWS_REGION: z.string().min(1),
  /** The OpenSearch Service API instead of AWS's (a local server speaking its protocol). */
  AWS_OPENSEARCH_ENDPOINT: urlSchema(["http:", "https:"]).optional(),
  /** A PEM file of the CA the domain's and the API's certificates are checked against, instead of Node's bundle. */
  OPENSEARCH_CA_FILE: z.string().min(1).optional(),
});

export interface OpenSearchSecurityApplied {
  readonly domain: string;
  readonly endpoint: string;
  readonly applied: readonly AppliedRequest[];
}

/** Checks the directory, finds the domain's VPC endpoint, then PUTs the directory's requests in order. */
export async function applyOpenSearchSecurity(
  env: Readonly<Record<string, string | undefined>>,
  configDir: string,
): Promise<OpenSearchSecurityApplied> {
  const config = loadConfig(opensearchEnvSchema, env);
  const requests = await readSecurityConfig(configDir);
  let ca: Buffer | undefined;
  if (config.OPENSEARCH_CA_FILE !== undefined) {
    try {
      ca = readFileSync(config.OPENSEARCH_CA_FILE);
    } catch (error) {
      throw configurationError("OPENSEARCH_CA_FILE", `cannot be read (${(error as Error).message})`);
    }
  }
  const http = new NodeHttpHandler({
    connectionTimeout: CONNECT_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    httpsAgent: new Agent({ keepAlive: true, ...(ca === undefined ? {} : { ca }) }),
  });
  const client = new OpenSearchClient({
    region: config.AWS_REGION,
    requestHandler: http,
    ...(config.AWS_OPENSEARCH_ENDPOINT === undefined ? {} : { endpoint: config.AWS_OPENSEARCH_ENDPOINT }),
  });
  try {
    const endpoint = await domainEndpoint(client, config.OPENSEARCH_DOMAIN);
    const signer = new SignatureV4({
      service: SIGNING_SERVICE,
      region: config.AWS_REGION,
      credentials: client.config.credentials,
      sha256: Sha256,
    });
    const applied = await applySecurityConfig({ endpoint, signer, http }, requests);
    return { domain: config.OPENSEARCH_DOMAIN, endpoint: endpoint.origin, applied };
  } finally {
    client.destroy();
    http.destroy();
  }
}

/** The command's report: one JSON document, or a line per request. */
export function opensearchSecurityReport(result: OpenSearchSecurityApplied, json: boolean): string {
  if (json) return `${JSON.stringify(result)}\n`;
  return `applied ${result.applied.length} request(s) to ${result.domain} (${result.endpoint})\n${result.applied
    .map((request) => `  PUT ${request.path}  ${request.status} ${request.outcome}  (${request.file})\n`)
    .join("")}`;
}
