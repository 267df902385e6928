import { monitoringOutputs, type GeneratedFile } from "../monitoring/src/outputs";
import { chartFiles, synthesizeStack } from "../infra/k8s/main";
import { readStackConfigs } from "../infra/planner/stack-configs";
import { openApiDocument } from "../services/api/src/openapi";
import { contractOutputs } from "../services/contracts/src/outputs";

/**
 * Every generated file of the repository except the plan snapshots (`pnpm plan` owns those):
 * dashboards, rules, Alertmanager configurations, the Kubernetes manifests per stack, and the
 * fund contract's artifact and typed bindings.
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
    ...contractOutputs().map((file) => ({ path: `services/contracts/${file.path}`, content: file.content })),
  ];
}
