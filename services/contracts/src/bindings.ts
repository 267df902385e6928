/**
 * Typed ethers v6 bindings for the fund, from typechain's own API (`runTypeChain` with
 * `@typechain/ethers-v6`), returned as file contents.
 *
 * `runTypeChain` is async and writes to disk, but the repository's generator wants its files
 * synchronously: so a short-lived Node process runs it into a temporary directory and this
 * module reads the result back and removes the directory. typechain formats with the Prettier
 * options given here (none), never with a configuration it happens to find, so the output does
 * not depend on where it ran.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ContractArtifact } from "./compile";

/** A generated file, its path relative to the directory the bindings go into. */
export interface BindingFile {
  readonly path: string;
  readonly content: string;
}

// Runs in the child: argv = [typechain module, target module, output directory, ...input files].
const RUN_TYPECHAIN = `
const [typechain, target, outDir, ...files] = process.argv.slice(1);
require(typechain)
  .runTypeChain({ cwd: outDir, target, outDir, filesToProcess: files, allFiles: files })
  .catch((error) => {
    process.stderr.write(String(error && error.stack ? error.stack : error));
    process.exitCode = 1;
  });
`;

const TYPECHAIN_TIMEOUT_MS = 60_000;

function listFiles(directory: string, prefix = ""): string[] {
  return readdirSync(directory, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? listFiles(path.join(directory, entry.name), `${prefix}${entry.name}/`)
        : [`${prefix}${entry.name}`],
    )
    .sort();
}

/**
 * The typechain output for `artifacts` (the contract type, its factory with ABI and bytecode,
 * `common.ts` and the barrels), sorted by path.
 */
export function typechainBindings(artifacts: readonly ContractArtifact[]): BindingFile[] {
  const work = mkdtempSync(path.join(tmpdir(), "paimon-typechain-"));
  try {
    const inputDir = path.join(work, "artifacts");
    const outDir = path.join(work, "out");
    mkdirSync(inputDir);
    const files = artifacts.map((artifact) => {
      const file = path.join(inputDir, `${artifact.contractName}.json`);
      writeFileSync(file, JSON.stringify(artifact));
      return file;
    });
    const result = spawnSync(
      process.execPath,
      [
        "-e",
        RUN_TYPECHAIN,
        require.resolve("typechain"),
        // typechain looks its target up from its own directory, where pnpm puts no
        // @typechain/ethers-v6; an absolute path is found from anywhere.
        path.dirname(require.resolve("@typechain/ethers-v6/package.json")),
        outDir,
        ...files,
      ],
      { encoding: "utf8", timeout: TYPECHAIN_TIMEOUT_MS },
    );
    if (result.error !== undefined) throw result.error;
    if (result.status !== 0) throw new Error(`typechain failed (exit ${result.status}): ${result.stderr}`);
    return listFiles(outDir).map((file) => ({ path: file, content: readFileSync(path.join(outDir, file), "utf8") }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
