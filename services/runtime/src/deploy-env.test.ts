/**
 * The environment each deployment gives a service, checked against that service's own
 * configuration schema: the generated Kubernetes manifests of every stack and docker-compose.yml
 * must set every variable the service requires, and nothing it does not know (a typo there would
 * otherwise surface only as a crash-looping pod).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { apiEnvSchema } from "@paimon/api/config";
import { listenerEnvSchema } from "@paimon/event-listener/config";
import { WORKER_ENV_SCHEMAS } from "@paimon/workers/config";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import type { z } from "zod";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const SERVICES: Record<
  string,
  { readonly schema: z.ZodObject; readonly deployment: string; readonly compose: string }
> = {
  api: { schema: apiEnvSchema, deployment: "paimon-api", compose: "api" },
  "event-listener": { schema: listenerEnvSchema, deployment: "paimon-event-listener", compose: "event-listener" },
  ...Object.fromEntries(
    Object.entries(WORKER_ENV_SCHEMAS).map(([worker, schema]) => [
      `${worker} worker`,
      { schema, deployment: `paimon-${worker}-worker`, compose: `${worker}-worker` },
    ]),
  ),
};

/** Variables the schema cannot do without (no default, not optional). */
const required = (schema: z.ZodObject) =>
  Object.entries(schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([name]) => name);

interface Container {
  readonly name: string;
  readonly env?: readonly { readonly name: string }[];
}
interface Manifest {
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly spec?: { readonly template?: { readonly spec?: { readonly containers?: readonly Container[] } } };
}

const stacks = readdirSync(path.join(ROOT, "charts-generated"));

function containerEnv(stack: string, deployment: string): string[] {
  const directory = path.join(ROOT, "charts-generated", stack);
  for (const file of readdirSync(directory)) {
    for (const document of parseAllDocuments(readFileSync(path.join(directory, file), "utf8"))) {
      const manifest = document.toJS() as Manifest | null;
      if (manifest?.kind !== "Deployment" || manifest.metadata.name !== deployment) continue;
      const container = manifest.spec?.template?.spec?.containers?.[0];
      return (container?.env ?? []).map((variable) => variable.name);
    }
  }
  throw new Error(`no Deployment ${deployment} in charts-generated/${stack}`);
}

describe("the environment every deployment gives each service", () => {
  it("covers stacks", () => {
    expect(stacks).toEqual(expect.arrayContaining(["staging", "production"]));
  });

  for (const [service, { schema, deployment, compose }] of Object.entries(SERVICES)) {
    it(`Kubernetes sets every variable ${service} requires, and only variables it reads`, () => {
      const known = Object.keys(schema.shape);
      for (const stack of stacks) {
        const names = containerEnv(stack, deployment);
        expect(names, stack).toEqual(expect.arrayContaining(required(schema)));
        expect(
          names.filter((name) => !known.includes(name)),
          stack,
        ).toEqual([]);
      }
    });

    it(`docker-compose gives ${service} an environment its configuration check accepts`, () => {
      const file = parse(readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
        services: Record<string, { environment?: Record<string, string> }>;
      };
      const result = schema.safeParse(file.services[compose]?.environment ?? {});
      expect(result.error?.issues ?? []).toEqual([]);
    });
  }
});
