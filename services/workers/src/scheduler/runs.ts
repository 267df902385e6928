/**
 * Exactly once per (schedule, slot): a slot's run row is inserted in the same transaction as its
 * work. A second taker of the same slot — BullMQ delivering a job twice, a catch-up beside the
 * scheduled job, another replica — blocks on the uncommitted row, then finds it and does nothing;
 * if the first one failed, its row rolled back with its work and the slot can run again.
 */
import type { Database } from "@paimon/core/db";
import { sql, type Kysely, type Transaction } from "kysely";

export type SlotOutcome = "ran" | "already_ran" | "superseded";

export async function runSlot(
  db: Kysely<Database>,
  schedule: string,
  slot: Date,
  work: (trx: Transaction<Database>) => Promise<Record<string, unknown>>,
): Promise<{ outcome: SlotOutcome; result?: Record<string, unknown> }> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .insertInto("schedule_runs")
      .values({ schedule, slot, outcome: "ran", result: JSON.stringify({}) })
      .onConflict((oc) => oc.columns(["schedule", "slot"]).doNothing())
      .returning("slot")
      .executeTakeFirst();
    if (!claimed) return { outcome: "already_ran" as const };
    const result = await work(trx);
    await trx
      .updateTable("schedule_runs")
      .set({ result: JSON.stringify(result) })
      .where("schedule", "=", schedule)
      .where("slot", "=", slot)
      .execute();
    return { outcome: "ran" as const, result };
  });
}

/** Records a slot that a later one of the same schedule made pointless (it never runs after that). */
export async function supersede(db: Kysely<Database>, schedule: string, slot: Date, by: Date): Promise<void> {
  await db
    .insertInto("schedule_runs")
    .values({ schedule, slot, outcome: "superseded", result: JSON.stringify({ superseded_by: by.toISOString() }) })
    .onConflict((oc) => oc.columns(["schedule", "slot"]).doNothing())
    .execute();
}

export async function hasRun(db: Kysely<Database>, schedule: string, slot: Date): Promise<boolean> {
  const row = await db
    .selectFrom("schedule_runs")
    .select("outcome")
    .where("schedule", "=", schedule)
    .where("slot", "=", slot)
    .executeTakeFirst();
  return row !== undefined;
}

/** The newest slot each schedule ran. */
export async function lastRuns(db: Kysely<Database>): Promise<Map<string, Date>> {
  const rows = await db
    .selectFrom("schedule_runs")
    .select(["schedule", sql<Date>`max(slot)`.as("slot")])
    .where("outcome", "=", "ran")
    .groupBy("schedule")
    .execute();
  return new Map(rows.map((row) => [row.schedule, new Date(row.slot)]));
}
