/**
 * Compiles the fund contract with the npm `solc` (its compiler ships inside the package, so no
 * download and no network) and returns the artifact as data. Nothing is written here: the
 * artifact is one of the repository's generated files, and `pnpm generate` owns the writing and
 * the freshness check. The compiler version and every setting are pinned, so the same sources
 * give the same bytes on every machine.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { JsonFragment } from "ethers";
import solc from "solc";
import { PACKAGE_DIR } from "./paths";

export const SOLC_VERSION = "0.8.30";
export const EVM_VERSION = "cancun";
export const OPTIMIZER_RUNS = 200;

/** The source unit name of the fund; solc also records it in the contract's metadata. */
export const FUND_SOURCE = "contracts/PaimonFund.sol";
export const FUND_CONTRACT = "PaimonFund";

const OPENZEPPELIN_PREFIX = "@openzeppelin/contracts/";

/** What the generated artifact holds: enough to deploy, decode and tell how it was built. */
export interface ContractArtifact {
  readonly contractName: string;
  readonly sourceName: string;
  readonly compiler: {
    readonly version: string;
    readonly evmVersion: string;
    readonly optimizer: { readonly enabled: boolean; readonly runs: number };
  };
  readonly abi: readonly JsonFragment[];
  readonly bytecode: string;
  readonly deployedBytecode: string;
}

/** Reads a source by its path relative to the package; tests pass their own. */
export type SourceReader = (unitName: string) => string;

interface SolcOutput {
  readonly errors?: readonly { readonly severity: string; readonly formattedMessage: string }[];
  readonly contracts?: Record<
    string,
    Record<
      string,
      {
        readonly abi: JsonFragment[];
        readonly evm: {
          readonly bytecode: { readonly object: string };
          readonly deployedBytecode: { readonly object: string };
        };
      }
    >
  >;
}

// solc's own typings declare everything `any`; this is the part of its API used here.
interface SolcCompiler {
  version(): string;
  compile(input: string, callbacks: { import: (unitName: string) => { contents: string } | { error: string } }): string;
}
const compiler = solc as unknown as SolcCompiler;

const readPackageFile: SourceReader = (unitName) => {
  // OpenZeppelin resolves through node_modules like any dependency, so the version is the one
  // package.json pins; everything else is a file of this package.
  const file = unitName.startsWith(OPENZEPPELIN_PREFIX)
    ? require.resolve(unitName, { paths: [PACKAGE_DIR] })
    : path.join(PACKAGE_DIR, unitName);
  return readFileSync(file, "utf8");
};

/**
 * Compiles `contracts/PaimonFund.sol` with the pinned settings. Throws listing every compiler
 * error (warnings are not errors), or when the installed solc is not the pinned one.
 */
export function compileFund(readSource: SourceReader = readPackageFile): ContractArtifact {
  const version = compiler.version();
  if (!version.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`solc ${version} is installed; the contracts are pinned to ${SOLC_VERSION}`);
  }
  const input = {
    language: "Solidity",
    sources: { [FUND_SOURCE]: { content: readSource(FUND_SOURCE) } },
    settings: {
      evmVersion: EVM_VERSION,
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      outputSelection: {
        [FUND_SOURCE]: { [FUND_CONTRACT]: ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
      },
    },
  };
  const output = JSON.parse(
    compiler.compile(JSON.stringify(input), {
      import: (unitName) => {
        if (!unitName.startsWith(OPENZEPPELIN_PREFIX))
          return { error: `${unitName}: only ${OPENZEPPELIN_PREFIX}… is importable` };
        try {
          return { contents: readSource(unitName) };
        } catch (error) {
          return { error: error instanceof Error ? error.message : String(error) };
        }
      },
    }),
  ) as SolcOutput;
  const errors = (output.errors ?? []).filter((entry) => entry.severity === "error");
  if (errors.length > 0) {
    throw new Error(
      `solc: ${FUND_SOURCE} does not compile:\n${errors.map((entry) => entry.formattedMessage).join("\n")}`,
    );
  }
  const contract = output.contracts?.[FUND_SOURCE]?.[FUND_CONTRACT];
  if (contract === undefined) throw new Error(`solc: no ${FUND_CONTRACT} in ${FUND_SOURCE}`);
  return {
    contractName: FUND_CONTRACT,
    sourceName: FUND_SOURCE,
    compiler: { version, evmVersion: EVM_VERSION, optimizer: { enabled: true, runs: OPTIMIZER_RUNS } },
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
    deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
  };
}
