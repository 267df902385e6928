/**
 * What settling and cancelling share: a requested redemption resolved at a block, and — undone —
 * back to `requested`. Applied after the requests of the same batch (a redemption is requested in
 * an earlier log than it is resolved, and resolves once), in one statement per kind.
 */
import type { Database } from "@paimon/core/db";
import { sql, type Transaction } from "kysely";
import { jsonRows } from "../json-rows";
import type { Effect, Located } from "./event-type";

export function resolveRedemptions(
  chainId: number,
  status: "settled" | "cancelled",
  events: readonly Located<{ readonly id: string }>[],
): Effect {
  const rows = jsonRows(
    "t",
    [
      ["id", "text"],
      ["block", "bigint"],
    ],
    events,
    ({ event, blockNumber }) => [event.id, blockNumber.toString()],
  );
  const update = sql`
    update redemptions r set status = ${status}, resolved_block = t.block, updated_at = now()
    from ${rows}
    where r.id = t.id and r.chain_id = ${chainId}`;
  return {
    work: [],
    write: async (trx) => {
      await update.execute(trx);
    },
  };
}

export async function reopenRedemptions(
  trx: Transaction<Database>,
  chainId: number,
  orphaned: readonly Located<{ readonly id: string }>[],
): Promise<void> {
  const ids = orphaned.map(({ event }) => event.id);
  await sql`
    update redemptions set status = 'requested', resolved_block = null, updated_at = now()
    where chain_id = ${chainId} and id = any(${ids}::text[])`.execute(trx);
}
