/**
 * The few JSON-RPC calls the sender makes, as plain values: nonces, raw broadcasts, receipts,
 * fees, gas estimates. Over an ethers `JsonRpcProvider` that never answers from its cache (two
 * quick nonce reads must both reach the node), sends each call alone, and gives up on a request
 * after `timeoutMs`; an error keeps the node's own message (see `classify.ts`).
 */
import { FetchRequest, JsonRpcProvider, Network, toBeHex, toQuantity } from "ethers";

export interface Receipt {
  readonly hash: string;
  readonly blockNumber: bigint;
  readonly blockHash: string;
  /** 1 succeeded, 0 reverted. */
  readonly status: number;
}

export interface CallRequest {
  readonly from?: string;
  readonly to: string;
  readonly data: string;
  readonly value?: bigint;
}

export type BlockTag = "latest" | "pending" | bigint;

export interface Chain {
  readonly chainId: bigint;
  head(): Promise<bigint>;
  nonceAt(address: string, tag: BlockTag): Promise<bigint>;
  /** Resolves with the node's hash; rejects with the node's error. */
  sendRawTransaction(raw: string): Promise<string>;
  receipt(hash: string): Promise<Receipt | null>;
  /** Whether the node knows the transaction at all (pending or mined). */
  knows(hash: string): Promise<boolean>;
  /** The next block's base fee, or undefined on a chain without EIP-1559. */
  baseFee(): Promise<bigint | undefined>;
  gasPrice(): Promise<bigint>;
  estimateGas(request: CallRequest): Promise<bigint>;
  call(request: CallRequest): Promise<string>;
  destroy(): void;
}

const tag = (value: BlockTag) => (typeof value === "bigint" ? toQuantity(value) : value);

function toRequest(request: CallRequest) {
  return {
    ...(request.from === undefined ? {} : { from: request.from }),
    to: request.to,
    data: request.data,
    ...(request.value === undefined || request.value === 0n ? {} : { value: toBeHex(request.value) }),
  };
}

export function createChain(options: {
  readonly url: string;
  readonly chainId: number;
  readonly timeoutMs: number;
}): Chain {
  const fetchRequest = new FetchRequest(options.url);
  fetchRequest.timeout = options.timeoutMs;
  const provider = new JsonRpcProvider(fetchRequest, Network.from(options.chainId), {
    staticNetwork: true,
    cacheTimeout: -1,
    batchMaxCount: 1,
  });
  const send = (method: string, params: unknown[]) => provider.send(method, params) as Promise<unknown>;
  return {
    chainId: BigInt(options.chainId),
    head: async () => BigInt((await send("eth_blockNumber", [])) as string),
    nonceAt: async (address, at) => BigInt((await send("eth_getTransactionCount", [address, tag(at)])) as string),
    sendRawTransaction: async (raw) => (await send("eth_sendRawTransaction", [raw])) as string,
    async receipt(hash) {
      const receipt = (await send("eth_getTransactionReceipt", [hash])) as {
        blockNumber: string | null;
        blockHash: string;
        status: string;
      } | null;
      if (receipt === null || receipt.blockNumber === null) return null;
      return {
        hash,
        blockNumber: BigInt(receipt.blockNumber),
        blockHash: receipt.blockHash,
        status: Number(BigInt(receipt.status)),
      };
    },
    knows: async (hash) => (await send("eth_getTransactionByHash", [hash])) !== null,
    async baseFee() {
      for (const block of ["pending", "latest"]) {
        const header = (await send("eth_getBlockByNumber", [block, false]).catch(() => null)) as {
          baseFeePerGas?: string;
        } | null;
        if (header !== null) return header.baseFeePerGas === undefined ? undefined : BigInt(header.baseFeePerGas);
      }
      return undefined;
    },
    gasPrice: async () => BigInt((await send("eth_gasPrice", [])) as string),
    estimateGas: async (request) => BigInt((await send("eth_estimateGas", [toRequest(request)])) as string),
    call: async (request) => (await send("eth_call", [toRequest(request), "latest"])) as string,
    destroy: () => {
      provider.destroy();
    },
  };
}
