/**
 * The command line of the repository's own scripts that take a few options and nothing else —
 * `pnpm generate` and the benchmarks: `--help` lists every option with its default, and an
 * unknown option or any argument is a usage error (exit 64, as for the CI scripts and `pnpm ops`)
 * named in one line with the usage beneath, never a stack trace. A leading `--` is dropped: pnpm
 * passes it through (`pnpm bench:ingest -- --events 1000`).
 *
 * It lives here, outside every workspace package, because these scripts are the repository's own
 * tools run from its root, where commander is a dependency; the services' packages, which the
 * benchmarks sit in, do not ship it.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { parseArguments } from "./ci/command";

export interface OptionSpec {
  /** What the option does, for `--help`; say the default here when it is not a value. */
  readonly description: string;
  /** The name of its value in `--help` (`--duration <seconds>`). @default none: the option is a switch */
  readonly value?: string;
  /** The value when the option is not given, as it would be typed; read by `parse` too. */
  readonly default?: string;
  /** Turns the text given into the value; what it throws is a usage error naming the option. */
  readonly parse?: (text: string) => unknown;
}

export interface CommandLineSpec<O extends Readonly<Record<string, OptionSpec>>> {
  /** As it is typed: `pnpm bench:api`. */
  readonly name: string;
  readonly description: string;
  /** By option name, without the dashes. */
  readonly options: O;
}

type ValueOf<S> = S extends { readonly value: string }
  ? | (S extends { readonly parse: (text: string) => infer R } ? R : string)
    | (S extends { readonly default: string } ? never : undefined)
  : boolean;

export type CommandLineValues<O> = { readonly [K in keyof O]: ValueOf<O[K]> };

/** The output commander writes to. @default the process's stdout and stderr */
export interface CommandLineOutput {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const processOutput: CommandLineOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

function toOption(name: string, spec: OptionSpec): Option {
  const option = new Option(spec.value === undefined ? `--${name}` : `--${name} <${spec.value}>`, spec.description);
  const { parse } = spec;
  if (parse !== undefined)
    option.argParser((text: string) => {
      try {
        return parse(text);
      } catch (error) {
        throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
      }
    });
  if (spec.default !== undefined)
    option.default(parse === undefined ? spec.default : parse(spec.default), spec.default);
  return option;
}

/**
 * Parses `argv` (without node and the script) against `spec`: the values by option name, or the
 * exit code to end with — 0 after `--help`, 64 after a usage error; commander has printed either.
 */
export function parseCommandLine<const O extends Readonly<Record<string, OptionSpec>>>(
  spec: CommandLineSpec<O>,
  argv: readonly string[],
  output: CommandLineOutput = processOutput,
): { readonly values: CommandLineValues<O> } | { readonly exit: number } {
  const entries = Object.entries(spec.options);
  const usage = entries
    .map(([name, option]) => (option.value === undefined ? `[--${name}]` : `[--${name} <${option.value}>]`))
    .join(" ");
  const synopsis =
    usage === "" ? `${spec.name} (it takes no options)` : `${spec.name} ${usage} (--help explains each option)`;
  const command = new Command(spec.name)
    .description(spec.description)
    .usage(usage === "" ? "[--help]" : usage)
    .allowExcessArguments(true)
    .configureOutput({
      writeOut: output.out,
      writeErr: output.err,
      outputError: (message, write) => {
        write(`${message}usage: ${synopsis}\n`);
      },
    })
    .action(() => {
      const [extra] = command.args;
      if (extra !== undefined) command.error(`error: unexpected argument '${extra}'`);
    });
  const options = entries.map(([name, option]) => {
    const parsed = toOption(name, option);
    command.addOption(parsed);
    return [name, parsed] as const;
  });
  const exit = parseArguments(command, argv[0] === "--" ? argv.slice(1) : argv);
  if (exit !== undefined) return { exit };
  const given = command.opts<Record<string, unknown>>();
  const values = Object.fromEntries(
    options.map(([name, option]) => {
      const value = given[option.attributeName()];
      return [name, option.required ? value : value === true];
    }),
  );
  // Built from the spec's own entries, each typed by the same rule as CommandLineValues.
  return { values: values as CommandLineValues<O> };
}
