/**
 * What the operator's commands record in the backup store besides backups: each DR drill, as
 * `drills/<id>.json` — when it ran, whether it passed, the RPO and RTO it measured against the
 * targets, and every table's comparison. `ops check monthly` reads the newest for the last
 * drill's age; the schema is the contract between the two.
 */
import { z } from "zod";
import type { BackupStore } from "./store";

/** Where drill records live in the store. */
export const DRILL_RECORDS_PREFIX = "drills/";

const stamp = z.iso.datetime();
const seconds = z.number().min(0);

/** A measured time against its target (the spec's §8.1). */
const measured = z.strictObject({ seconds, target_seconds: seconds, met: z.boolean() });

export const drillRecordSchema = z.strictObject({
  format: z.literal(1),
  /** `drill-<UTC timestamp>`, the moment it started. */
  id: z.string().regex(/^drill-\d{8}T\d{6}\d{3}Z$/),
  started_at: stamp,
  completed_at: stamp,
  /** Every table equal, both targets met, the API ready and the listener caught up. */
  passed: z.boolean(),
  /** What failed, in words; empty when it passed. */
  problems: z.array(z.string()),
  /**
   * On RDS: the scratch instances earlier drills left behind (their drill began longer ago than a
   * drill may last) whose deletion this one requested before it began, and when their drill began.
   */
  swept: z.array(z.strictObject({ scratch: z.string(), since: stamp })).optional(),
  /** The backup the drill made and restored; null when the backup itself failed. */
  backup_id: z.string().nullable(),
  restore: z.strictObject({
    method: z.enum(["pg_restore", "rds-point-in-time"]),
    /** The scratch database's or instance's name (dropped after the drill). */
    scratch: z.string(),
    started_at: stamp.nullable(),
  }),
  /** The age of the newest restorable data when the restore began: restore start − backup's start. */
  rpo: measured.nullable(),
  /** From the start of the restore to an API on the restored data answering `GET /v1/fund` with 200. */
  rto: measured.extend({ api_ready_at: stamp }).nullable(),
  /** What the listener re-read from the chain, from the backup's cursor to where it caught up. */
  replay: z
    .strictObject({
      from_block: z.string().nullable(),
      to_block: z.string(),
      blocks: z.number().int().min(0),
      events: z.number().int().min(0),
    })
    .nullable(),
  tables: z.array(
    z.strictObject({
      table: z.string(),
      backup_rows: z.number().int().min(0).nullable(),
      restored_rows: z.number().int().min(0).nullable(),
      source_md5: z.string().nullable(),
      restored_md5: z.string().nullable(),
      equal: z.boolean(),
    }),
  ),
});
export type DrillRecord = z.infer<typeof drillRecordSchema>;

/** A drill's id: the UTC moment it started, e.g. `drill-20261201T134500123Z`. */
export const drillId = (at: Date): string => `drill-${at.toISOString().replace(/[-:]/g, "").replace(".", "")}`;

export const drillRecordKey = (id: string): string => `${DRILL_RECORDS_PREFIX}${id}.json`;

export async function writeDrillRecord(store: BackupStore, record: DrillRecord): Promise<void> {
  await store.putText(drillRecordKey(record.id), `${JSON.stringify(drillRecordSchema.parse(record), null, 2)}\n`);
}

/**
 * Every drill record in the store, newest first; a record that does not parse is reported with
 * its key and the problem, never skipped silently.
 */
export async function readDrillRecords(
  store: BackupStore,
): Promise<({ readonly key: string } & ({ record: DrillRecord } | { problem: string }))[]> {
  const objects = (await store.list(DRILL_RECORDS_PREFIX)).filter((object) => object.key.endsWith(".json"));
  const records = await Promise.all(
    objects.map(async ({ key }) => {
      const text = (await store.getText(key)) ?? "";
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { key, problem: "not JSON" };
      }
      const parsed = drillRecordSchema.safeParse(json);
      return parsed.success
        ? { key, record: parsed.data }
        : { key, problem: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") };
    }),
  );
  return records.sort((a, b) => b.key.localeCompare(a.key));
}

/** The newest drill that passed, if any: what the monthly check's "last DR drill" is. */
export async function lastPassedDrill(store: BackupStore): Promise<DrillRecord | undefined> {
  for (const entry of await readDrillRecords(store)) if ("record" in entry && entry.record.passed) return entry.record;
  return undefined;
}
