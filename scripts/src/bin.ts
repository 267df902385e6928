/** `pnpm ops …` from source: the operator's commands (the image runs them as `node dist/main.js ops …`). */
import path from "node:path";
import { runOps } from "./cli";
import { servicesFromSource } from "./drill-services";

const ROOT = path.resolve(__dirname, "..", "..");

// pnpm passes a literal `--` through (`pnpm ops -- --help`); it means nothing here.
const argv = process.argv.slice(2).filter((arg, index) => !(arg === "--" && index === 0));
void runOps(argv, {
  // eslint-disable-next-line no-restricted-properties -- the program's entry reads the environment once
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  services: servicesFromSource(ROOT),
}).then((code) => {
  process.exitCode = code;
});
