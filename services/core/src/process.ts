/**
 * How every program of the image starts and fails: the service's `main` runs once; an error
 * before it is up (bad configuration, an unreachable dependency it cannot start without) is
 * printed on one stderr line naming the program, and the exit code is 1. Nothing is thrown past
 * this point, so no stack trace reaches the log collector as unstructured text.
 */
export function runMain(program: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    process.stderr.write(`${program}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
