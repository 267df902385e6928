import { parseStackConfig, type StackConfig } from "../config";
import { REPO_ROOT, listStacks, readStackFile } from "./stacks";

/** Every stack's validated configuration, read from its file as the CLI would hand it over. */
export function readStackConfigs(root = REPO_ROOT): StackConfig[] {
  return listStacks(root).map((stack) => {
    const file = readStackFile(stack, root);
    return parseStackConfig(file.config, stack, file.secretKeys);
  });
}
