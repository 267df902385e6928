/**
 * New-head notifications over WebSocket, used only to wake the follower up — never as the source
 * of events (logs are read over HTTP by block range). ethers 6's WebSocketProvider neither
 * reconnects nor reports a lost subscription, so this speaks `eth_subscribe("newHeads")` itself:
 * on close or error it reconnects with exponential backoff and full jitter, re-subscribes, and
 * calls `onReconnect` so the follower fills whatever it missed. A socket that stays silent past
 * `staleMs` is treated as lost.
 */
import WebSocket from "ws";

/** The longest wait between two reconnection attempts unless `maxDelayMs` says otherwise. */
export const MAX_RECONNECT_DELAY_MS = 15_000;

export interface HeadSubscription {
  close(): void;
}

export interface HeadSubscriptionOptions {
  readonly url: string;
  readonly onHead: (blockNumber: bigint) => void;
  /** After every successful re-subscription (not the first). */
  readonly onReconnect: () => void;
  readonly onError: (error: Error) => void;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /** No message (head or pong) for this long: reconnect. @default 30_000 */
  readonly staleMs?: number;
  readonly random?: () => number;
}

export function subscribeHeads(options: HeadSubscriptionOptions): HeadSubscription {
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? MAX_RECONNECT_DELAY_MS;
  const staleMs = options.staleMs ?? 30_000;
  const random = options.random ?? Math.random;
  let closed = false;
  let failures = 0;
  let connectedBefore = false;
  let socket: WebSocket | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let staleTimer: NodeJS.Timeout | undefined;

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    // Full jitter: anywhere between 0 and the exponential ceiling, so many listeners never
    // reconnect in step.
    const ceiling = Math.min(maxDelay, minDelay * 2 ** failures);
    failures += 1;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        connect();
      },
      Math.max(minDelay / 4, random() * ceiling),
    );
  };

  const touch = () => {
    clearTimeout(staleTimer);
    staleTimer = setTimeout(() => {
      socket?.ping();
      staleTimer = setTimeout(() => socket?.terminate(), staleMs / 2);
    }, staleMs);
  };

  const connect = () => {
    const ws = new WebSocket(options.url, { handshakeTimeout: 10_000 });
    socket = ws;
    ws.on("open", () => {
      ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
      touch();
    });
    ws.on("pong", touch);
    ws.on("message", (data: WebSocket.RawData) => {
      touch();
      let message: {
        id?: number;
        result?: string;
        error?: { message?: string };
        params?: { result?: { number?: string } };
      };
      try {
        const text = Array.isArray(data)
          ? Buffer.concat(data).toString("utf8")
          : Buffer.from(data instanceof ArrayBuffer ? new Uint8Array(data) : data).toString("utf8");
        message = JSON.parse(text) as typeof message;
      } catch {
        return;
      }
      if (message.id === 1) {
        if (message.error) {
          options.onError(new Error(`eth_subscribe: ${message.error.message ?? "refused"}`));
          ws.terminate();
          return;
        }
        failures = 0;
        if (connectedBefore) options.onReconnect();
        connectedBefore = true;
        return;
      }
      const number = message.params?.result?.number;
      if (number !== undefined) options.onHead(BigInt(number));
    });
    ws.on("error", (error: Error) => {
      options.onError(error);
    });
    ws.on("close", () => {
      clearTimeout(staleTimer);
      if (socket === ws) socket = undefined;
      scheduleReconnect();
    });
  };

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearTimeout(staleTimer);
      socket?.terminate();
    },
  };
}
