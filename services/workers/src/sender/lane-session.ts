/**
 * The lane's lock: a PostgreSQL session-level advisory lock on a connection of its own, outside
 * the pool. PostgreSQL releases it when the session ends — the process closed it, died (SIGKILL
 * closes its socket) or lost the network — so a crashed sender never leaves its lane locked, and a
 * second replica (a rolling update's new pod) waits until the first has let go.
 */
import { pgConnection } from "@paimon/core/db";
import pg from "pg";
import type { LaneSession } from "./sender";

export function laneSessions(databaseUrl: string, onError: (error: Error) => void): () => Promise<LaneSession> {
  return async () => {
    const client = new pg.Client(pgConnection(databaseUrl));
    let ended!: () => void;
    const endedPromise = new Promise<void>((resolve) => {
      ended = resolve;
    });
    client.on("error", (error) => {
      onError(error);
      ended();
    });
    client.on("end", () => {
      ended();
    });
    await client.connect();
    return {
      async tryLock(key) {
        const result = await client.query<{ locked: boolean }>(
          "select pg_try_advisory_lock(hashtextextended($1, 0)) as locked",
          [key],
        );
        return result.rows[0]?.locked === true;
      },
      ended: endedPromise,
      async close() {
        await client.end().catch(() => undefined);
        ended();
      },
    };
  };
}
