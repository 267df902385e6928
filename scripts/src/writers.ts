/**
 * The programs that write to the fund's database — the event listener and the workers — as a
 * restore sees them: stopped before it touches the database, started again after it, whether it
 * succeeded or not. In a cluster they are Deployments scaled through the Kubernetes API
 * (kubernetes.ts); on a developer's machine they are the processes `pnpm dev` runs
 * (writers-dev.ts).
 */

/** Writers that can be stopped. */
export interface Writers {
  /** Where they run, for messages: "Deployments in namespace fund", "pnpm dev (paimon_dev)". */
  readonly where: string;
  /**
   * Stops every writer and resolves once none of them runs any more. When it fails part-way it
   * starts again what it had stopped before it throws.
   */
  stop(): Promise<StoppedWriters>;
}

/** Writers that were stopped, and how to start them again as they were. */
export interface StoppedWriters {
  /** What was stopped, one line each ("paimon-event-listener: 1 replica → 0"). */
  readonly stopped: readonly string[];
  /** Starts them again as they were before `stop()`. */
  start(): Promise<void>;
}

/** No writers to stop: a restore into a scratch database, which no program writes to. */
export const noWriters: Writers = {
  where: "none (the target is not the services' database)",
  stop: () => Promise.resolve({ stopped: [], start: () => Promise.resolve() }),
};

/**
 * Runs `work` with the writers stopped, then starts them again — also when `work` failed, so that
 * a refused or failed restore leaves the services as it found them. A failure to start them is
 * reported together with the work's own failure, never in its place.
 */
export async function withWritersStopped<T>(
  writers: Writers,
  work: (stopped: StoppedWriters) => Promise<T>,
): Promise<T> {
  const stopped = await writers.stop();
  let result: T;
  try {
    result = await work(stopped);
  } catch (error) {
    try {
      await stopped.start();
    } catch (startError) {
      throw new WritersError(
        `${(error as Error).message}; and the writers could not be started again (${(startError as Error).message}): start them by hand`,
        { cause: error },
      );
    }
    throw error;
  }
  await stopped.start();
  return result;
}

/** The writers could not be stopped or started. */
export class WritersError extends Error {}
