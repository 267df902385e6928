/**
 * The package's generated files: the fund's artifact and its typechain bindings, under
 * `generated/`. They are committed, so the rest of the workspace imports them without a build
 * step and a review shows what an edit of the contract changed in its ABI; `pnpm generate`
 * writes them and `pnpm generate --check` fails while they are stale.
 */
import { typechainBindings } from "./bindings";
import { compileFund } from "./compile";

/** The directory of the generated files, relative to the package. */
export const GENERATED_DIR = "generated";

export interface ContractOutput {
  /** Relative to the package directory. */
  readonly path: string;
  readonly content: string;
}

/** Compiles the fund and generates its bindings; writes nothing. Takes a few seconds. */
export function contractOutputs(): ContractOutput[] {
  const artifact = compileFund();
  return [
    {
      path: `${GENERATED_DIR}/artifacts/${artifact.contractName}.json`,
      content: `${JSON.stringify(artifact, null, 2)}\n`,
    },
    ...typechainBindings([artifact]).map((file) => ({
      path: `${GENERATED_DIR}/typechain/${file.path}`,
      content: file.content,
    })),
  ];
}
