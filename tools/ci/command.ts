import type { Command } from "commander";

/**
 * Parses a CI script's arguments. Undefined when the script should go on; otherwise the exit code
 * to end with: 0 after `--help`, 64 (EX_USAGE) after a usage error, which commander has printed.
 */
export function parseArguments(command: Command, argv: readonly string[]): number | undefined {
  try {
    command
      .exitOverride()
      .showHelpAfterError(false)
      .parse([...argv], { from: "user" });
    return undefined;
  } catch (error) {
    return (error as { exitCode?: number }).exitCode === 0 ? 0 : 64;
  }
}
