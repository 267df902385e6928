/**
 * An OpenSearch domain's fine-grained access, applied from a directory: the security plugin's API
 * is given each JSON body the directory's manifest lists, in the manifest's order (a role before
 * the role mappings that name it: a mapping of a role that does not exist yet is refused), each
 * request signed with SigV4 for the `es` service. A PUT replaces the resource with the body, so
 * applying the same directory again changes nothing.
 */
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { DescribeDomainCommand, type OpenSearchClient } from "@aws-sdk/client-opensearch";
import { HttpRequest } from "@smithy/core/protocols";
import { streamCollector, type NodeHttpHandler } from "@smithy/node-http-handler";
import type { SignatureV4 } from "@smithy/signature-v4";
import { z } from "zod";
import { OPENSEARCH_SECURITY_MANIFEST } from "@paimon/core/workloads";
import { configurationError } from "./kinds";

/** The manifest a configuration directory holds: `[{ "path": "roles/<name>", "file": "<file>.json" }, …]`, applied in order. */
/** Where the security plugin's REST API lives on the domain. */
export const SECURITY_API_PATH = "/_plugins/_security/api";

/** The security API's resources this applies; each named resource is replaced by a PUT. */
const RESOURCE_PATH = /^(actiongroups|internalusers|roles|rolesmapping|tenants)\/[A-Za-z0-9_.-]+$/;

const manifestSchema = z
  .array(
    z.strictObject({
      path: z.string().regex(RESOURCE_PATH, "must be <actiongroups|internalusers|roles|rolesmapping|tenants>/<name>"),
      // A plain name: the file is looked for in the directory, nowhere else.
      file: z
        .string()
        .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.json$/, "must be the name of a .json file in the directory"),
    }),
  )
  .min(1, "must list at least one request");

/** One PUT of the security API: the resource's path under it, and the body from `file`. */
export interface SecurityRequest {
  readonly path: string;
  readonly file: string;
  readonly body: string;
}

const duplicate = (values: readonly string[]) => values.find((value, index) => values.indexOf(value) !== index);

/**
 * Reads and checks a configuration directory before anything is sent: the manifest's entries,
 * every file it lists (JSON objects), no file it leaves out (a body nobody applies is a mistake),
 * and no role mapping before the role it maps. A problem is a configuration error naming the
 * manifest's entry or the file.
 */
export async function readSecurityConfig(directory: string): Promise<SecurityRequest[]> {
  const manifestFile = path.join(directory, OPENSEARCH_SECURITY_MANIFEST);
  const where = (detail: string) => `${manifestFile}${detail}`;
  let text: string;
  try {
    text = await readFile(manifestFile, "utf8");
  } catch (error) {
    throw configurationError("--config-dir", `${manifestFile} cannot be read (${(error as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw configurationError(manifestFile, `not JSON (${(error as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = (issue?.path ?? []).map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("");
    throw configurationError(where(at), issue?.message ?? "invalid");
  }
  const entries = parsed.data;
  const repeatedFile = duplicate(entries.map((entry) => entry.file));
  if (repeatedFile !== undefined) throw configurationError(manifestFile, `lists ${repeatedFile} twice`);
  const repeatedPath = duplicate(entries.map((entry) => entry.path));
  if (repeatedPath !== undefined) throw configurationError(manifestFile, `puts ${repeatedPath} twice`);
  entries.forEach((entry, index) => {
    const mapped = /^rolesmapping\/(.+)$/.exec(entry.path)?.[1];
    const role = entries.findIndex((other) => other.path === `roles/${mapped ?? ""}`);
    if (mapped !== undefined && role > index)
      throw configurationError(
        where(`[${index}]`),
        `maps role ${mapped} before [${role}] creates it: list roles/${mapped} first`,
      );
  });

  const present = (await readdir(directory)).filter(
    (name) => !name.startsWith(".") && name !== OPENSEARCH_SECURITY_MANIFEST,
  );
  const unlisted = present.filter((name) => !entries.some((entry) => entry.file === name)).sort();
  if (unlisted.length > 0)
    throw configurationError(manifestFile, `does not list ${unlisted.join(", ")} (in ${directory}): list or remove it`);

  return Promise.all(
    entries.map(async (entry, index) => {
      const file = path.join(directory, entry.file);
      let body: string;
      try {
        body = await readFile(file, "utf8");
      } catch (error) {
        throw configurationError(where(`[${index}].file`), `${file} cannot be read (${(error as Error).message})`);
      }
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch (error) {
        throw configurationError(file, `not JSON (${(error as Error).message})`);
      }
      if (value === null || typeof value !== "object" || Array.isArray(value))
        throw configurationError(file, "must hold a JSON object, the resource's body");
      return { path: entry.path, file: entry.file, body };
    }),
  );
}

/**
 * The domain's endpoint inside the VPC, from DescribeDomain: the log domain has no public one.
 * A domain still being created has none yet, which is an error naming the domain.
 */
export async function domainEndpoint(client: OpenSearchClient, domain: string): Promise<URL> {
  const { DomainStatus: status } = await client.send(new DescribeDomainCommand({ DomainName: domain }));
  const vpc = status?.Endpoints?.["vpc"];
  if (vpc === undefined || vpc === "")
    throw new Error(
      `OpenSearch domain ${domain} has no VPC endpoint${status?.Processing === true ? " yet (it is still processing)" : ""}: DescribeDomain returned ${
        status?.Endpoint !== undefined ? `only the public endpoint ${status.Endpoint}` : "no endpoint"
      }`,
    );
  return new URL(`https://${vpc}`);
}

/** What the security API answered one PUT. */
export interface AppliedRequest {
  readonly path: string;
  readonly file: string;
  readonly status: number;
  /** 201 created the resource; any other 2xx replaced it (with the same body, nothing changed). */
  readonly outcome: "created" | "updated";
}

export interface ApplySecurityDeps {
  /** The domain's base URL (`https://<vpc endpoint>`). */
  readonly endpoint: URL;
  /** Signs for service `es` in the domain's region, with the caller's credentials. */
  readonly signer: Pick<SignatureV4, "sign">;
  readonly http: Pick<NodeHttpHandler, "handle">;
}

/** PUTs each request in order; the first non-2xx stops it, with the path, the status and the body. */
export async function applySecurityConfig(
  deps: ApplySecurityDeps,
  requests: readonly SecurityRequest[],
): Promise<AppliedRequest[]> {
  const { endpoint } = deps;
  const applied: AppliedRequest[] = [];
  for (const request of requests) {
    const body = Buffer.from(request.body, "utf8");
    const unsigned = new HttpRequest({
      method: "PUT",
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port === "" ? {} : { port: Number(endpoint.port) }),
      path: `${SECURITY_API_PATH}/${request.path}`,
      headers: {
        host: endpoint.host,
        "content-type": "application/json",
        "content-length": String(body.byteLength),
      },
      body,
    });
    const signed = await deps.signer.sign(unsigned);
    const { response } = await deps.http.handle(new HttpRequest(signed));
    const answer = Buffer.from(await streamCollector(response.body as Readable)).toString("utf8");
    if (response.statusCode < 200 || response.statusCode > 299)
      throw new Error(
        `PUT ${SECURITY_API_PATH}/${request.path} (${request.file}): ${response.statusCode}: ${answer.trim() || "(no body)"}`,
      );
    applied.push({
      path: request.path,
      file: request.file,
      status: response.statusCode,
      outcome: response.statusCode === 201 ? "created" : "updated",
    });
  }
  return applied;
}
