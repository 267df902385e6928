/** `tsx services/api/src/bin.ts`: the API alone, as `pnpm dev` and the process tests run it. */
import { runMain } from "@paimon/core/process";
import { runApi } from "./main";

// eslint-disable-next-line no-restricted-properties -- the program's entry reads the environment once
runMain("paimon-api", () => runApi(process.env));
