import { describe, expect, it } from "vitest";
import { DevnetConfigError, loadDevnetConfig } from "./config";

describe("loadDevnetConfig", () => {
  it("when nothing is given, then the node listens on 8545 for chain 31337 without an RPC log", () => {
    expect(loadDevnetConfig([], {})).toEqual({ host: "127.0.0.1", port: 8545, chainId: 31337, rpcLog: false });
  });

  it("when both a flag and the environment set a value, then the flag wins", () => {
    const env = { DEVNET_PORT: "9000", DEVNET_CHAIN_ID: "5", DEVNET_RPC_LOG: "true" };
    expect(loadDevnetConfig(["--port", "9100"], env)).toEqual({
      host: "127.0.0.1",
      port: 9100,
      chainId: 5,
      rpcLog: true,
    });
    expect(loadDevnetConfig(["--host", "0.0.0.0"], { DEVNET_HOST: "10.0.0.1" }).host).toBe("0.0.0.0");
    expect(() => loadDevnetConfig([], { DEVNET_HOST: "my host" })).toThrow(/DEVNET_HOST must be an IPv4 address/);
    expect(loadDevnetConfig(["--chain-id=1337", "--rpc-log"], {})).toEqual({
      host: "127.0.0.1",
      port: 8545,
      chainId: 1337,
      rpcLog: true,
    });
  });

  it("when values are bad, then every one is reported at once", () => {
    let caught: unknown;
    try {
      loadDevnetConfig(["--port", "70000"], { DEVNET_CHAIN_ID: "0x1", DEVNET_RPC_LOG: "yes" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DevnetConfigError);
    expect((caught as DevnetConfigError).problems).toEqual([
      '--port must be an integer from 1 to 65535, got "70000"',
      'DEVNET_CHAIN_ID must be an integer from 1 to 9007199254740991, got "0x1"',
      'DEVNET_RPC_LOG must be "true" or "false", got "yes"',
    ]);
  });

  it("when an unknown flag is given, then it is refused with the usage", () => {
    expect(() => loadDevnetConfig(["--fork", "x"], {})).toThrow(/Unknown option '--fork'[\s\S]*usage: pnpm devnet/);
  });
});
