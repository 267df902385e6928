/** `tsx services/event-listener/src/bin.ts`: the listener alone, as `pnpm dev` and the process tests run it. */
import { runMain } from "@paimon/core/process";
import { runEventListener } from "./main";

// eslint-disable-next-line no-restricted-properties -- the program's entry reads the environment once
runMain("paimon-event-listener", () => runEventListener(process.env));
