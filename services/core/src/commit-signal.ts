/**
 * The commit signal: how the writers of the fund's state tell its readers that a transaction of
 * theirs has committed, so that a reader holding responses per committed block (the API) rebuilds
 * them once per commit instead of querying on every request. Writers and readers import the
 * channels, the payloads and their parsing from here, and nowhere else.
 *
 * A signal is a PostgreSQL `NOTIFY` (`pg_notify`) sent inside the very transaction it announces.
 * PostgreSQL delivers it only if and when that transaction commits, after its changes are visible
 * to other sessions, and in commit order: a reader that hears it and then queries sees the commit,
 * and a rolled-back batch announces nothing. A Redis publish cannot give that: sent before the
 * commit it may announce what then rolls back, or arrive before the data is visible; sent after,
 * a crash between the two loses it; and either way it would put a second system's availability
 * on the listener's commit path.
 *
 * Delivery is at most once, to the sessions listening when the transaction commits: a reader whose
 * LISTEN connection drops misses whatever commits meanwhile. So every payload carries what the
 * reader can re-read cheaply to find out for itself (the checkpoint), and the reader re-checks it
 * when it listens again and at a bounded interval.
 */
import { sql, type QueryExecutorProvider } from "kysely";
import { z } from "zod";
import { LISTENER_CHECKPOINT } from "./db";

/** The event listener's commits (a batch of blocks, a reorganisation undone, a cursor touched), in the fund's database. */
export const CHAIN_COMMIT_CHANNEL = "paimon_chain_commit";
/** The risk monitor's commits (an assessment recorded or forgotten), in the metrics database. */
export const RISK_COMMIT_CHANNEL = "paimon_risk_commit";

export const COMMIT_CHANNELS = [CHAIN_COMMIT_CHANNEL, RISK_COMMIT_CHANNEL] as const;
export type CommitChannel = (typeof COMMIT_CHANNELS)[number];

const blockNumber = z.string().regex(/^\d{1,20}$/, "must be a decimal block number");
const blockHash = z.string().regex(/^0x[0-9a-fA-F]{1,64}$/, "must be a 0x-prefixed block hash");

/** A chain commit's payload: the listener's checkpoint as that transaction left it. */
const chainCommitPayload = z.strictObject({
  block_number: blockNumber,
  block_hash: blockHash,
  updated_at: z.iso.datetime({ offset: true }),
});

/** A risk commit's payload: the block whose assessment was recorded or forgotten. */
const riskCommitPayload = z.strictObject({
  change: z.enum(["recorded", "forgotten"]),
  chain_id: z.number().int().positive(),
  block_number: blockNumber,
  block_hash: blockHash,
});

/** The listener's checkpoint: the last block it committed, and when it last wrote the row. */
export interface Checkpoint {
  readonly blockNumber: string;
  readonly blockHash: string;
  readonly updatedAt: Date;
}

export type CommitSignal =
  | { readonly channel: typeof CHAIN_COMMIT_CHANNEL; readonly checkpoint: Checkpoint }
  | {
      readonly channel: typeof RISK_COMMIT_CHANNEL;
      readonly change: "recorded" | "forgotten";
      readonly chainId: number;
      readonly blockNumber: string;
      readonly blockHash: string;
    };

/** A payload that is not what the contract says; the message names the channel and the bad fields. */
export class CommitSignalError extends Error {
  override readonly name = "CommitSignalError";
}

const parseJson = (channel: string, payload: string): unknown => {
  try {
    return JSON.parse(payload);
  } catch (error) {
    throw new CommitSignalError(`${channel}: the payload is not JSON`, { cause: error });
  }
};

const issues = (error: z.ZodError) =>
  error.issues.map((issue) => `${issue.path.join(".") || "(payload)"}: ${issue.message}`).join("; ");

/** A notification as the reader receives it (`channel`, `payload`), checked against the contract. */
export function parseCommitSignal(channel: string, payload: string | undefined): CommitSignal {
  const json = parseJson(channel, payload ?? "");
  if (channel === CHAIN_COMMIT_CHANNEL) {
    const parsed = chainCommitPayload.safeParse(json);
    if (!parsed.success) throw new CommitSignalError(`${channel}: ${issues(parsed.error)}`);
    return {
      channel,
      checkpoint: {
        blockNumber: parsed.data.block_number,
        blockHash: parsed.data.block_hash,
        updatedAt: new Date(parsed.data.updated_at),
      },
    };
  }
  if (channel === RISK_COMMIT_CHANNEL) {
    const parsed = riskCommitPayload.safeParse(json);
    if (!parsed.success) throw new CommitSignalError(`${channel}: ${issues(parsed.error)}`);
    return {
      channel,
      change: parsed.data.change,
      chainId: parsed.data.chain_id,
      blockNumber: parsed.data.block_number,
      blockHash: parsed.data.block_hash,
    };
  }
  throw new CommitSignalError(`${channel}: not a commit channel (${COMMIT_CHANNELS.join(", ")})`);
}

/**
 * Announces the listener's commit, from inside its transaction (`trx`) and after its last write to
 * the checkpoint: the payload is the checkpoint row as this transaction sees it, so it can never
 * disagree with what the transaction committed.
 */
export async function notifyChainCommit(trx: QueryExecutorProvider): Promise<void> {
  await sql`select pg_notify(${CHAIN_COMMIT_CHANNEL}, json_build_object(
      'block_number', block_number::text, 'block_hash', block_hash, 'updated_at', updated_at)::text)
    from sync_checkpoints where name = ${LISTENER_CHECKPOINT}`.execute(trx);
}

/** Announces the risk monitor's commit for one block, from inside its transaction (`trx`). */
export async function notifyRiskCommit(
  trx: QueryExecutorProvider,
  commit: {
    readonly change: "recorded" | "forgotten";
    readonly chainId: number;
    readonly blockNumber: string;
    readonly blockHash: string;
  },
): Promise<void> {
  const payload: z.input<typeof riskCommitPayload> = {
    change: commit.change,
    chain_id: commit.chainId,
    block_number: commit.blockNumber,
    block_hash: commit.blockHash,
  };
  await sql`select pg_notify(${RISK_COMMIT_CHANNEL}, ${JSON.stringify(payload)})`.execute(trx);
}
