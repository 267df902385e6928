import type { Logger } from "./logger";

/** How long a shutdown may take before the process gives up and exits 1. */
export const SHUTDOWN_GRACE_MS = 30_000;

export interface Shutdown {
  /** Registers a step; steps run in the order registered (stop accepting first, close the database last). */
  add(name: string, step: () => Promise<void> | void): void;
  /** Runs every step once, in order; a failing step is logged and the next one still runs. */
  run(reason: string): Promise<void>;
}

/**
 * Ordered, once-only shutdown: readiness off and `server.close()` first, then workers, queues,
 * Redis and the database. A grace timer forces exit 1 if a step stalls.
 */
export function createShutdown(options: {
  readonly logger: Logger;
  readonly graceMs?: number;
  readonly exit?: (code: number) => void;
}): Shutdown {
  const steps: { name: string; step: () => Promise<void> | void }[] = [];
  let running: Promise<void> | undefined;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  return {
    add(name, step) {
      steps.push({ name, step });
    },
    run(reason) {
      running ??= (async () => {
        options.logger.info("shutting down", { reason });
        const timer = setTimeout(() => {
          options.logger.error("shutdown did not finish in time; exiting", {
            grace_ms: options.graceMs ?? SHUTDOWN_GRACE_MS,
          });
          exit(1);
        }, options.graceMs ?? SHUTDOWN_GRACE_MS);
        timer.unref();
        let failed = false;
        for (const { name, step } of steps) {
          try {
            await step();
          } catch (error) {
            failed = true;
            options.logger.error("shutdown step failed", { step: name, error });
          }
        }
        clearTimeout(timer);
        options.logger.info("shut down", { reason });
        if (failed) exit(1);
      })();
      return running;
    },
  };
}
