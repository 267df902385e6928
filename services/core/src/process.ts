import type { Logger } from "./logger";
import type { Shutdown } from "./shutdown";

/**
 * How every program of the image starts and fails: the service's `main` runs once; an error
 * before it is up (bad configuration, an unreachable dependency it cannot start without) is
 * printed on one stderr line naming the program, and the process exits 1 (at the latest
 * EXIT_GRACE_MS later). Nothing is thrown past this point, so no stack trace reaches the log
 * collector as unstructured text.
 */
export function runMain(program: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${program}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    // A failed start must end the process even if a handle it opened is still alive (a
    // reconnecting client, a held lock): a live process that does nothing passes liveness probes.
    setTimeout(() => process.exit(1), EXIT_GRACE_MS).unref();
  });
}

/** How long a failed program has to flush its output before it is made to exit. */
const EXIT_GRACE_MS = 2_000;

/**
 * The process-level handlers every service installs, the same way: SIGTERM and SIGINT run the
 * ordered shutdown; an unhandled rejection or an uncaught exception leaves the process in a state
 * nobody knows, so it is logged, the process stops in order and exits 1 for Kubernetes to restart
 * it — rather than staying ready. A command still queued on a Redis connection that shutdown has
 * just quit (ioredis's "Connection is closed") is expected then, and only a warning.
 */
export function handleProcessSignals(options: {
  readonly logger: Logger;
  readonly shutdown: Shutdown;
  /** Whether shutdown has begun. */
  readonly stopping: () => boolean;
}): void {
  const { logger, shutdown } = options;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      void shutdown.run(signal);
    });
  }
  const fatal = (what: string) => (error: unknown) => {
    if (options.stopping() && error instanceof Error && /^Connection is closed/.test(error.message)) {
      logger.warn(`${what} while shutting down`, { error });
      return;
    }
    logger.error(what, { error });
    process.exitCode = 1;
    void shutdown.run(what);
  };
  process.on("unhandledRejection", fatal("unhandled rejection"));
  process.on("uncaughtException", fatal("uncaught exception"));
}
