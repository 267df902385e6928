import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileFund, FUND_SOURCE, SOLC_VERSION } from "./compile";
import { contractOutputs } from "./outputs";
import { PAIMON_FUND_ABI, PAIMON_FUND_BYTECODE } from "./index";
import { PACKAGE_DIR } from "./paths";

const committed = (file: string): string | undefined => {
  try {
    return readFileSync(path.join(PACKAGE_DIR, file), "utf8");
  } catch {
    return undefined;
  }
};

describe("the generated artifact and bindings", () => {
  const outputs = contractOutputs();

  it("when the contract is compiled again, then every committed file is identical", () => {
    expect(outputs.map((file) => file.path)).toEqual([
      "generated/artifacts/PaimonFund.json",
      "generated/typechain/PaimonFund.ts",
      "generated/typechain/common.ts",
      "generated/typechain/factories/PaimonFund__factory.ts",
      "generated/typechain/factories/index.ts",
      "generated/typechain/index.ts",
    ]);
    for (const file of outputs) {
      expect(committed(file.path), `${file.path} is stale: run \`pnpm generate\``).toBe(file.content);
    }
  });

  it("when the artifact is read, then it names the pinned compiler and carries the code the bindings deploy", () => {
    const artifact = JSON.parse(outputs[0]!.content) as ReturnType<typeof compileFund>;
    expect(artifact.compiler).toEqual({
      version: expect.stringMatching(new RegExp(`^${SOLC_VERSION}\\+commit`)) as unknown,
      evmVersion: "cancun",
      optimizer: { enabled: true, runs: 200 },
    });
    expect(artifact.bytecode).toBe(PAIMON_FUND_BYTECODE);
    expect(artifact.abi).toEqual(PAIMON_FUND_ABI);
    const events = artifact.abi.filter((entry) => entry.type === "event").map((entry) => entry.name);
    expect(events).toEqual(
      expect.arrayContaining([
        "Deposited",
        "RedemptionRequested",
        "RedemptionSettled",
        "RedemptionCancelled",
        "LayerBalancesUpdated",
        "RebalanceExecuted",
      ]),
    );
  });
});

describe("compileFund", () => {
  it("when the source does not compile, then it throws with solc's message", () => {
    const broken = (unitName: string) =>
      unitName === FUND_SOURCE ? "pragma solidity 0.8.30; contract PaimonFund {" : "";
    expect(() => compileFund(broken)).toThrow(/does not compile:[\s\S]*ParserError/);
  });

  it("when an import is outside OpenZeppelin, then it is refused", () => {
    const source = 'pragma solidity 0.8.30; import "lib/Other.sol"; contract PaimonFund {}';
    expect(() => compileFund((unitName) => (unitName === FUND_SOURCE ? source : ""))).toThrow(
      /lib\/Other\.sol: only @openzeppelin\/contracts\/… is importable/,
    );
  });
});
