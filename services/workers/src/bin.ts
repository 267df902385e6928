/** `tsx services/workers/src/bin.ts --worker=<name>`: one worker, as `pnpm dev` and the process tests run it. */
import { parseArgs } from "node:util";
import { runMain } from "@paimon/core/process";
import { parseWorkerName, runWorker } from "./main";

const { values } = parseArgs({ options: { worker: { type: "string" } }, strict: true });
runMain(`paimon-${values.worker ?? "unnamed"}-worker`, () =>
  // eslint-disable-next-line no-restricted-properties -- the program's entry reads the environment once
  runWorker(parseWorkerName(values.worker), process.env),
);
