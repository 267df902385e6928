import { monitoringOutputs, type GeneratedFile } from "../monitoring/src/outputs";
import { chartFiles, synthesizeStack } from "../infra/k8s/main";
import { readStackConfigs } from "../infra/planner/stacks";
import { openApiDocument } from "../services/api/src/openapi";

/**
 * Every generated file of the repository except the plan snapshots (`pnpm plan` owns those):
 * dashboards, rules, Alertmanager configurations, and the Kubernetes manifests per stack.
 */
export function generatedFiles(configs = readStackConfigs()): GeneratedFile[] {
  return [
    ...monitoringOutputs(
      configs.map((config) => ({
        stack: config.stack,
        environment: config.environment,
        paging: config.paging !== undefined,
      })),
    ),
    ...configs.flatMap((config) => chartFiles(config.stack, synthesizeStack(config))),
    { path: "services/api/openapi.json", content: `${JSON.stringify(openApiDocument(), null, 2)}\n` },
  ];
}
