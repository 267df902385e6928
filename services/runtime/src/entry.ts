/** The bundle's entry: `node dist/main.js <service>` in the image, `tsx src/entry.ts <service>` from source. */
import { main } from "./main";

// eslint-disable-next-line no-restricted-properties -- the program's entry reads argv and the environment once
main(process.argv.slice(2), process.env);
