/**
 * What a node's answer to `eth_sendRawTransaction` means for the sender, read from what nodes
 * really answer (geth and BSC's geth fork, Erigon, Nethermind, Hardhat's EDR):
 *
 * - `submitted`: accepted, or the node already holds these very bytes ("already known", geth;
 *   "Known transaction: 0x…", Hardhat; "AlreadyKnown", Nethermind);
 * - `underpriced`: the pool holds another transaction at this nonce and this one does not outbid
 *   it by the node's margin. For bytes of ours that the pool holds already it means submitted: the
 *   sender checks which of its hashes the node knows;
 * - `nonce_too_low`: the account's nonce has moved past this one: something mined at it. Which
 *   transaction did is for the receipts of every saved hash to say;
 * - `retry`: worth the same bytes again later — the node or the network failed (5xx, a reset, a
 *   timeout, throttling), or the account cannot pay for the gas now ("insufficient funds"), or the
 *   pool is full, or an earlier nonce has not reached this node yet ("nonce too high": a node that
 *   keeps no queue for future nonces, as Hardhat's automine);
 * - `rejected`: the node refuses these bytes for good (intrinsic gas too low, over the block gas
 *   limit, a fee cap under the node's floor, a bad signature). The sender keeps the nonce and
 *   cancels past the deadline; it never gives the nonce to another intent on such an answer.
 */

export type SendOutcome = "submitted" | "underpriced" | "nonce_too_low" | "retry" | "rejected";

const PATTERNS: readonly (readonly [SendOutcome, RegExp])[] = [
  [
    "submitted",
    /already known|known transaction|alreadyknown|already imported|already in (the )?(tx|transaction )?pool/i,
  ],
  ["nonce_too_low", /nonce too low|nonce has already been used|oldnonce|nonce is too low|invalid nonce.*too low/i],
  [
    "underpriced",
    /replacement (transaction )?underpriced|replacement fee too low|replacementnotallowed|feetoolowtocompete/i,
  ],
  [
    "retry",
    /insufficient funds|nonce too high|future nonce|txpool is full|transaction pool is full|too many requests|rate limit|timeout|timed out|temporarily unavailable|econnreset|econnrefused|socket hang up|network error|bad gateway|service unavailable/i,
  ],
];

/** ethers' error codes that mean the request, not the transaction, failed. */
const TRANSPORT_CODES = new Set(["SERVER_ERROR", "TIMEOUT", "NETWORK_ERROR", "UNKNOWN_ERROR_TRANSPORT"]);

/** The node's own message inside an ethers error, or the error's message. */
export function nodeMessage(error: unknown): string {
  if (typeof error !== "object" || error === null) return String(error);
  const e = error as {
    info?: { error?: { message?: unknown } };
    error?: { message?: unknown };
    shortMessage?: unknown;
    message?: unknown;
  };
  for (const candidate of [e.info?.error?.message, e.error?.message, e.shortMessage, e.message]) {
    if (typeof candidate === "string" && candidate.length > 0) return candidate;
  }
  return JSON.stringify(error);
}

export function classifySendError(error: unknown): { outcome: SendOutcome; message: string } {
  const message = nodeMessage(error);
  for (const [outcome, pattern] of PATTERNS) {
    if (pattern.test(message)) return { outcome, message };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && TRANSPORT_CODES.has(code)) return { outcome: "retry", message };
  // A JSON-RPC error object (the node answered) that says nothing above is a refusal; anything
  // else (no answer, an HTTP status, a parse failure) is the transport's and worth a retry.
  const wrapped = error as { info?: { error?: unknown }; error?: unknown } | null;
  const answered = wrapped?.info?.error !== undefined || wrapped?.error !== undefined;
  return { outcome: answered ? "rejected" : "retry", message };
}
