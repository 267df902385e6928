import type { Channel, Database, RedemptionStatus } from "@paimon/core/db";
import type { Kysely } from "kysely";

export interface RedemptionFilter {
  readonly status?: RedemptionStatus | undefined;
  readonly channel?: Channel | undefined;
  readonly owner?: string | undefined;
  /** Keyset position: rows strictly after (created_at, id) in descending order. */
  readonly after?: { readonly createdAt: Date; readonly id: string } | undefined;
  readonly limit: number;
}

/** Newest first, keyset-paginated on (created_at, id): stable under concurrent inserts. */
export function listRedemptions(db: Kysely<Database>, filter: RedemptionFilter) {
  let query = db.selectFrom("redemptions").selectAll();
  if (filter.status) query = query.where("status", "=", filter.status);
  if (filter.channel) query = query.where("channel", "=", filter.channel);
  if (filter.owner) query = query.where("owner", "=", filter.owner.toLowerCase());
  if (filter.after) {
    const { createdAt, id } = filter.after;
    query = query.where((eb) =>
      eb.or([eb("created_at", "<", createdAt), eb.and([eb("created_at", "=", createdAt), eb("id", "<", id)])]),
    );
  }
  return query.orderBy("created_at", "desc").orderBy("id", "desc").limit(filter.limit).execute();
}

export function findRedemption(db: Kysely<Database>, id: string) {
  return db.selectFrom("redemptions").selectAll().where("id", "=", id).executeTakeFirst();
}
