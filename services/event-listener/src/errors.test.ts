import { AppError, toAppError } from "@paimon/core/errors";
import { describe, expect, it } from "vitest";
import { FatalListenerError } from "./checkpoint";
import { RedisUnavailableError } from "./relay";
import { RangeTooWideError, RateLimitedError, RpcError, RpcUnavailableError, isRpcFailure } from "./rpc";

describe("the listener's errors", () => {
  it.each<[AppError, string, boolean]>([
    [
      new RpcUnavailableError("BSC_RPC_URL (node.example): eth_getLogs: no answer within 10000 ms"),
      "rpc_unavailable",
      true,
    ],
    [new RateLimitedError("eth_getLogs: HTTP 429"), "rpc_rate_limited", true],
    [new RangeTooWideError("query returned more than 10000 results"), "rpc_range_too_wide", true],
    [new RpcError("eth_getLogs: invalid params (-32602)", -32602), "rpc_error", false],
    [new RedisUnavailableError("Redis is reconnecting; the work stays in the outbox"), "redis_unavailable", true],
    [new FatalListenerError("the checkpoint names chain 97, this listener follows 56"), "listener_fatal", false],
  ])("then %s is an AppError with its code, its name and whether a retry can help", (error, code, retryable) => {
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code, retryable, name: error.constructor.name });
    // Classified once, where it is thrown: the process handlers and logs read the same fields.
    expect(toAppError(error)).toBe(error);
  });

  it("then an RPC error keeps the node's JSON-RPC code apart from its own", () => {
    const error = new RpcError("eth_call: execution reverted (3)", 3);
    expect(error.rpcCode).toBe(3);
    expect(error.details).toEqual({ rpcCode: 3 });
    expect(error.code).toBe("rpc_error");
  });

  it("then a Redis failure whose cause is a refused socket is Redis's, not the database's", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" });
    const error = new RedisUnavailableError("Redis: connect ECONNREFUSED 127.0.0.1:6379", { cause: refused });
    expect(toAppError(error).code).toBe("redis_unavailable");
    expect(isRpcFailure(error)).toBe(false);
    expect(isRpcFailure(new RpcUnavailableError("x"))).toBe(true);
  });
});
