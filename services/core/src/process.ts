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
