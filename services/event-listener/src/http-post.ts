/**
 * One JSON-RPC exchange over node:http(s): the request's body out, the answer's status and whole
 * body back, over a keep-alive connection of the client's own.
 *
 * Why not `fetch`: undici's fetch reads a body through web streams, a promise and a copy per chunk,
 * then decodes it again to parse it — for a backfill's `eth_getLogs` answers (about 1.5 MB per
 * range) that cost three to four times the JSON parse itself, and its many functions kept V8's
 * compilers busy for the first seconds of a process. Here the chunks are concatenated once and
 * decoded once.
 * What undici did besides is kept: gzip is accepted, connections are kept alive, and a request
 * that meets a kept-alive connection the node has just closed is sent again on a new one.
 */
import http from "node:http";
import https from "node:https";
import { createGunzip } from "node:zlib";

export interface HttpAnswer {
  readonly status: number;
  /** The whole body, decoded (gzip); empty when `keepBody` declined it. */
  readonly body: string;
}

export interface HttpPoster {
  /**
   * POSTs `payload` and resolves with the answer once its body is complete; rejects on a transport
   * failure, or with `signal`'s reason as soon as it aborts (the request is then destroyed).
   * `keepBody(status)` false: the body is not read (the connection is closed instead).
   */
  post(payload: string, signal: AbortSignal, keepBody: (status: number) => boolean): Promise<HttpAnswer>;
}

/**
 * Idle connections are closed after this long: before a Node server's default keep-alive timeout
 * (5 s) closes them from its side, which a request sent at that moment would meet as a reset.
 */
const IDLE_CONNECTION_MS = 4_000;

export function createHttpPoster(target: URL, headers: Readonly<Record<string, string>>): HttpPoster {
  const secure = target.protocol === "https:";
  const agent = secure
    ? new https.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS })
    : new http.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS });
  const request = secure ? https.request : http.request;
  return {
    post: (payload, signal, keepBody) =>
      new Promise<HttpAnswer>((resolve, reject) => {
        let settled = false;
        let outgoing: http.ClientRequest | undefined;
        const settle = (outcome: () => void) => {
          if (settled) return;
          settled = true;
          signal.removeEventListener("abort", onAbort);
          outcome();
        };
        const fail = (error: unknown) => {
          settle(() => {
            reject(error instanceof Error ? error : new Error(String(error)));
          });
        };
        function onAbort() {
          settle(() => {
            reject(signal.reason as Error);
          });
          outgoing?.destroy();
        }
        /** One request; `again` once more on a new connection if a kept-alive one turns out closed. */
        const send = (again: boolean) => {
          const sent = request(target, {
            method: "POST",
            agent,
            headers: { ...headers, "accept-encoding": "gzip", "content-length": String(Buffer.byteLength(payload)) },
          });
          outgoing = sent;
          let answered = false;
          sent.on("error", (error: NodeJS.ErrnoException) => {
            // The node closed an idle connection as this request went out on it, before any answer:
            // sent again on a new one (the agent has dropped the closed one). The listener's calls
            // are all reads, so one that did reach the node is safe to repeat.
            if (
              again &&
              !answered &&
              sent.reusedSocket &&
              !signal.aborted &&
              (error.code === "ECONNRESET" || error.code === "EPIPE")
            )
              send(false);
            else fail(error);
          });
          sent.on("response", (incoming) => {
            answered = true;
            receive(incoming);
          });
          sent.end(payload);
        };
        const receive = (incoming: http.IncomingMessage) => {
          const status = incoming.statusCode ?? 0;
          if (!keepBody(status)) {
            incoming.destroy();
            settle(() => {
              resolve({ status, body: "" });
            });
            return;
          }
          const encoding = incoming.headers["content-encoding"];
          if (encoding !== undefined && encoding !== "identity" && encoding !== "gzip") {
            incoming.destroy();
            fail(new Error(`the answer is encoded as ${encoding}`));
            return;
          }
          const body = encoding === "gzip" ? incoming.pipe(createGunzip()) : incoming;
          const chunks: Buffer[] = [];
          incoming.on("error", fail);
          // A connection closed before the body's end (`complete` unset) is a failure, not an answer.
          incoming.on("close", () => {
            if (!incoming.complete) fail(new Error("the connection closed before the answer was complete"));
          });
          if (body !== incoming) body.on("error", fail);
          body.on("data", (chunk: Buffer) => chunks.push(chunk));
          body.on("end", () => {
            settle(() => {
              resolve({ status, body: Buffer.concat(chunks).toString("utf8") });
            });
          });
        };
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener("abort", onAbort, { once: true });
        send(true);
      }),
  };
}
