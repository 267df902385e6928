/** `pnpm --filter @paimon/core migrate`: the `migrate` command from source. */
import { runMain } from "../process";
import { runMigrate } from "./migrate-command";

// eslint-disable-next-line no-restricted-properties -- the program's entry reads the environment once
runMain("migrate", () => runMigrate(process.env));
