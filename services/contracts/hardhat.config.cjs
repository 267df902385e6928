/* global module, process -- a CommonJS file: Hardhat 2 loads its configuration with require() */
// The devnet's Hardhat configuration, read only by `hardhat node` (src/devnet.ts starts it). Hardhat
// compiles nothing: src/compile.ts does, with the npm solc. devnet.ts passes two settings in the
// environment because Hardhat's CLI has no flag for them.
// eslint-disable-next-line no-restricted-properties -- the devnet process's composition root
const { PAIMON_DEVNET_CHAIN_ID, PAIMON_DEVNET_RPC_LOG } = process.env;

module.exports = {
  networks: {
    hardhat: {
      chainId: Number(PAIMON_DEVNET_CHAIN_ID ?? "31337"),
      // The EVM the contracts are compiled for (src/compile.ts), not Hardhat's newest default.
      hardfork: "cancun",
      // Logging every call costs more than the call when a benchmark sends thousands of them.
      loggingEnabled: PAIMON_DEVNET_RPC_LOG === "true",
      mining: { auto: true },
    },
  },
};
