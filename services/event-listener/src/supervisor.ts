/**
 * The listener's life as the writer, in terms. A term starts when the writer lock is acquired
 * and ends when its connection is lost (or the process stops). Between terms the listener is a
 * standby: it asks for the lock again, retrying a database it cannot reach with exponential
 * backoff and full jitter, and says why it is waiting. It never exits for a database outage.
 *
 * Exactly once survives a lost connection: a term writes only through its lock's connection, and
 * once that is gone nothing can be written through it (a reconnect would be a connection without
 * the lock); the next term's follower is new and starts from the committed checkpoint, where every
 * batch committed in full or not at all, and a batch replayed is inserted idempotently. A term's
 * follower has settled (its relay too) before the next term starts.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { Logger } from "@paimon/core/logger";
import { backOff } from "exponential-backoff";
import type { Follower } from "./follower";
import type { Role } from "./health";
import { FatalListenerError } from "./checkpoint";
import type { Writer } from "./writer";

/** What a term runs with its writer: the follower, and what to close when the term ends. */
export interface Term {
  readonly follower: Follower;
  close(): Promise<void>;
}

export interface SupervisorOptions {
  /** Connects and waits for the lock; rejects if the database cannot be reached. */
  readonly acquire: (signal: AbortSignal, onWaiting: () => void) => Promise<Writer>;
  /** What follows the chain through this writer. */
  readonly startTerm: (writer: Writer) => Term;
  readonly logger: Logger;
  /** Shutdown: the current step finishes, the term ends, the lock is released. */
  readonly signal: AbortSignal;
  /** After a failed step, the follower runs again this much later. */
  readonly retryDelayMs: number;
  /** The lock's first retry delay and the ceiling of its exponential backoff. */
  readonly backoff?: { readonly startingDelayMs?: number; readonly maxDelayMs?: number };
  /** A role change (and why it is not the writer): what health reports. */
  readonly onRole: (role: Role, reason: string | undefined) => void;
  readonly chainId: number;
}

export interface Supervisor {
  /** Runs terms until `signal` aborts; rejects only on a fatal error (the process must stop). */
  run(): Promise<void>;
  /** The current (or last) term's follower, for readiness and new-head wake-ups. */
  follower(): Follower | undefined;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Resolves when `signal` aborts; `dispose` removes its listener (the signal outlives many waits). */
function abortion(signal: AbortSignal): { readonly promise: Promise<void>; readonly dispose: () => void } {
  let done: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    done = resolve;
  });
  if (signal.aborted) done();
  else signal.addEventListener("abort", done, { once: true });
  return {
    promise,
    dispose: () => {
      signal.removeEventListener("abort", done);
    },
  };
}

/** Whether `signal` has aborted: a call, so that a check after an `await` is not narrowed away. */
const hasAborted = (signal: AbortSignal) => signal.aborted;

/** Which failed attempts are logged: the first of an outage, then every so often (health says it meanwhile). */
const LOGGED_ATTEMPT_EVERY = 20;

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const { logger, signal } = options;
  let current: Follower | undefined;

  /** The lock, however long the database takes to come back; undefined once stopping. */
  const acquire = async (): Promise<Writer | undefined> => {
    const attempt = () =>
      options.acquire(signal, () => {
        options.onRole("standby", "another instance is the writer");
        logger.info("another instance is the writer; waiting for its lock");
      });
    const acquiring = backOff(attempt, {
      numOfAttempts: Number.POSITIVE_INFINITY,
      startingDelay: options.backoff?.startingDelayMs ?? 250,
      maxDelay: options.backoff?.maxDelayMs ?? 5_000,
      jitter: "full",
      retry: (error: unknown, next: number) => {
        if (signal.aborted) return false;
        options.onRole("standby", `database unreachable: ${messageOf(error)}`);
        if (next === 1 || next % LOGGED_ATTEMPT_EVERY === 0) {
          logger.warn("the database is unreachable; standing by and retrying with backoff", {
            error,
            attempt: next,
          });
        }
        return true;
      },
    });
    // Shutdown does not wait out a backoff delay (the attempt after it gives up at once), and a
    // lock acquired just as it began is released.
    const stopping = abortion(signal);
    try {
      const writer = await Promise.race([acquiring, stopping.promise.then(() => undefined)]);
      if (writer !== undefined && !signal.aborted) return writer;
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      stopping.dispose();
    }
    void acquiring.then(
      (writer) => writer.close(),
      () => undefined,
    );
    return undefined;
  };

  /** Runs the term's follower until the term ends, running it again after a failed step. */
  const follow = async (writer: Writer, follower: Follower, term: AbortSignal) => {
    while (!term.aborted) {
      try {
        await follower.run(term);
        return; // stopped, or halted (it holds the lock and stays unready, saying why)
      } catch (error) {
        if (hasAborted(term) || writer.isLost()) return; // cut short on purpose, or the term is over
        if (error instanceof FatalListenerError) throw error;
        // The RPC client already retried with backoff; start over from the committed cursor.
        logger.error("follower step failed; resuming from the last committed block", { error });
        await delay(options.retryDelayMs, undefined, { signal: term }).catch(() => undefined);
      }
    }
  };

  /** One term: follows until the lock's connection is lost (resolves with why) or stopping (undefined). */
  const serve = async (writer: Writer): Promise<Error | undefined> => {
    const term = new AbortController();
    const end = () => {
      term.abort();
    };
    signal.addEventListener("abort", end, { once: true });
    const started = options.startTerm(writer);
    const { follower } = started;
    current = follower;
    options.onRole("writer", undefined);
    logger.info("writer lock acquired", { chain_id: options.chainId });
    const following = follow(writer, follower, term.signal);
    const stopping = abortion(term.signal);
    try {
      // Halted, the term still holds the lock (unready) until it is lost or the process stops.
      await Promise.race([
        following.then(() => Promise.race([writer.lost, stopping.promise])),
        writer.lost,
        stopping.promise,
      ]);
      return undefined;
    } catch (error) {
      if (signal.aborted) return undefined;
      if (error instanceof FatalListenerError) throw error;
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      stopping.dispose();
      term.abort();
      signal.removeEventListener("abort", end);
      // Its step ends at its next statement (the connection is gone) or its node's deadline.
      await following.catch(() => undefined);
      await started.close().catch((error: unknown) => {
        logger.warn("closing the term's queues failed", { error });
      });
      await writer.close();
    }
  };

  return {
    async run() {
      while (!signal.aborted) {
        const writer = await acquire();
        if (writer === undefined) return;
        const lost = await serve(writer);
        if (lost === undefined || hasAborted(signal)) return;
        options.onRole("standby", `database connection lost: ${lost.message}`);
        logger.warn("lost the writer's database connection, and the lock with it; standing by to take it again", {
          error: lost,
        });
      }
    },
    follower: () => current,
  };
}
