import { describe, expect, it } from "vitest";
import { parseCommandLine } from "./command-line";

const seconds = (text: string) => {
  const number = Number(text);
  if (!(number > 0)) throw new Error("must be a positive number");
  return number;
};
const spec = {
  name: "pnpm bench:x",
  description: "A benchmark",
  options: {
    duration: { description: "seconds measured", value: "seconds", default: "10", parse: seconds },
    warmup: { description: "seconds of warm-up (default: the --duration)", value: "seconds", parse: seconds },
    "redis-url": { description: "the Redis", value: "url", default: "redis://127.0.0.1:6379" },
    quiet: { description: "print less" },
  },
} as const;

const parse = (argv: readonly string[]) => {
  let out = "";
  let err = "";
  const result = parseCommandLine(spec, argv, { out: (text) => (out += text), err: (text) => (err += text) });
  return { result, out, err };
};

describe("a script's command line", () => {
  it("when nothing is given, then every option has its default, parsed, and a switch is off", () => {
    expect(parse([]).result).toEqual({
      values: { duration: 10, warmup: undefined, "redis-url": "redis://127.0.0.1:6379", quiet: false },
    });
  });

  it("when pnpm passes a leading `--`, then the options after it are read as options", () => {
    expect(parse(["--", "--duration", "5", "--quiet"]).result).toEqual({
      values: { duration: 5, warmup: undefined, "redis-url": "redis://127.0.0.1:6379", quiet: true },
    });
  });

  it("when asked for --help, then it lists every option with its default and exits 0", () => {
    const { result, out } = parse(["--help"]);
    expect(result).toEqual({ exit: 0 });
    expect(out).toContain(
      "Usage: pnpm bench:x [--duration <seconds>] [--warmup <seconds>] [--redis-url <url>] [--quiet]",
    );
    expect(out).toMatch(/--duration <seconds>\s+seconds measured \(default: 10\)/);
    expect(out).toMatch(/--redis-url <url>\s+the Redis \(default: redis:\/\/127\.0\.0\.1:6379\)/);
  });

  it.each([
    [["--durations", "5"], "error: unknown option '--durations'\n(Did you mean --duration?)\n"],
    [["5"], "error: unexpected argument '5'\n"],
    [
      ["--duration", "soon"],
      "error: option '--duration <seconds>' argument 'soon' is invalid. must be a positive number\n",
    ],
  ])("when given %j, then it exits 64 naming the problem, then the usage", (argv, problem) => {
    const { result, err } = parse(argv);
    expect(result).toEqual({ exit: 64 });
    expect(err).toBe(
      `${problem}usage: pnpm bench:x [--duration <seconds>] [--warmup <seconds>] [--redis-url <url>] [--quiet] (--help explains each option)\n`,
    );
  });
});
