/**
 * Where the package's files are, for the modules that read them at run time. Its own module so
 * that importing the devnet does not load the compiler (solc is a 9 MB module).
 */
import path from "node:path";

/** The package directory: `contracts/`, `generated/` and `hardhat.config.cjs` live here. */
export const PACKAGE_DIR = path.resolve(__dirname, "..");
