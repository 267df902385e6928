// Entry point for the Pulumi CLI (`main: infra/` in Pulumi.yaml): Pulumi calls the exported
// function and awaits its result as the stack outputs. `pnpm plan` runs the same function
// under the mock runtime (infra/planner).
import { program } from "./program";

export = program;
