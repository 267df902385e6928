import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { monitoredStacks, monitoringOutputs } from "./outputs";

const repository = path.resolve(__dirname, "..", "..");

describe("generated monitoring files", () => {
  it.each(monitoringOutputs().map((output) => [output.path, output.content]))(
    "then %s is committed and fresh",
    (file, content) => {
      expect(readFileSync(path.join(repository, file), "utf8"), `run \`pnpm generate\``).toBe(content);
    },
  );

  it.each(monitoredStacks().map(({ stack }) => stack))(
    "then the %s Kubernetes objects validate against their schemas",
    async (environment) => {
      const { PrometheusRule } =
        await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule");
      const { ConfigMap } = await import("kubernetes-models/v1/ConfigMap");
      const text = readFileSync(path.join(repository, "charts-generated", environment, "monitoring.k8s.yaml"), "utf8");
      const objects = parseAllDocuments(text).map((document) => document.toJSON() as { kind: string });
      expect(objects.map((object) => object.kind)).toEqual(["PrometheusRule", ...Array<string>(5).fill("ConfigMap")]);
      for (const object of objects) {
        const model =
          object.kind === "PrometheusRule" ? new PrometheusRule(object as never) : new ConfigMap(object as never);
        expect(() => {
          model.validate();
        }).not.toThrow();
      }
    },
  );

  it("when a PrometheusRule is malformed, then validation refuses it", async () => {
    const { PrometheusRule } =
      await import("@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule");
    const broken = new PrometheusRule({
      metadata: { name: "x" },
      spec: { groups: [{ name: "g", rules: [{ alert: "A" } as never] }] },
    });
    expect(() => {
      broken.validate();
    }).toThrow();
  });
});
