/**
 * Preloaded into a listener a test runs with `--expose-gc --import` (see `spawnListener`): a full
 * garbage collection every GC_EVERY_MS, so that whatever a deadline relies on that nothing holds
 * is collected at once — as a long-running process's would be, some hours in. (On Node 20 a
 * `AbortSignal.timeout` combined with `AbortSignal.any` was such a thing: collected, it never fired.)
 */
const GC_EVERY_MS = 250;

const collect = globalThis.gc;
if (collect === undefined) throw new Error("gc-pressure needs node --expose-gc");
setInterval(() => {
  collect();
}, GC_EVERY_MS).unref();
