import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { stackBundle, type StackBundle } from "./bundle";
import { PROGRAM_MODULE, planStack, planStacks, type PlanSource } from "./plan";
import { serializeSnapshot } from "./snapshot";
import { REPO_ROOT } from "./stacks";

/** Scratch space inside the workspace, so that fixture programs resolve the workspace's packages. */
const SCRATCH_PARENT = path.join(REPO_ROOT, "infra", "node_modules", ".cache");
const RUN_STACK = path.join(__dirname, "run-stack.ts");
const inPackages = (file: string) => file.split(path.sep).includes("node_modules");

describe("the platform's bundle", () => {
  let scratch: string;
  let bundle: StackBundle;
  beforeAll(async () => {
    mkdirSync(SCRATCH_PARENT, { recursive: true });
    scratch = mkdtempSync(path.join(SCRATCH_PARENT, "plan-bundle-test-"));
    bundle = await stackBundle({ programModule: PROGRAM_MODULE, cacheDir: scratch });
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("when built, then it holds exactly the workspace modules tsx loads, and requires the package files they require", () => {
    // What tsx loads for the child's entry and the program, read from its module cache: the
    // workspace modules, and the package files each of them requires itself.
    const loaded = JSON.parse(
      execFileSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "--eval",
          `for (const entry of ${JSON.stringify([RUN_STACK, PROGRAM_MODULE])}) require(entry);
           const inPackages = (file) => file.split(${JSON.stringify(path.sep)}).includes("node_modules");
           const sources = Object.keys(require.cache).filter((file) => !inPackages(file));
           const packages = sources.flatMap((file) => require.cache[file].children.map((child) => child.filename).filter(inPackages));
           process.stdout.write(JSON.stringify({ sources, packages }));`,
        ],
        { cwd: REPO_ROOT, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      ),
    ) as { sources: string[]; packages: string[] };

    expect(bundle.sources).toEqual([...loaded.sources].sort());
    expect(bundle.sources).toContain(PROGRAM_MODULE);
    const required = bundle.packages.filter((entry) => entry.kind === "require").map((entry) => entry.file);
    expect([...new Set(required)].sort()).toEqual([...new Set(loaded.packages)].sort());
    expect(required.every(inPackages)).toBe(true);
  });

  it("when a module imports a package with import(), then the bundle loads the file Node's ESM resolver picks", () => {
    const dynamic = bundle.packages.filter((entry) => entry.kind === "import");
    // The secret detector is loaded on demand.
    expect(dynamic.map((entry) => entry.specifier)).toContain("@secretlint/core");
    const resolved = JSON.parse(
      execFileSync(
        process.execPath,
        [
          "--experimental-import-meta-resolve",
          "--input-type=module",
          "--eval",
          `const imports = ${JSON.stringify(dynamic.map((entry) => [entry.specifier, pathToFileURL(entry.importer).href]))};
           process.stdout.write(JSON.stringify(imports.map(([specifier, parent]) => new URL(import.meta.resolve(specifier, parent)).pathname)));`,
        ],
        { cwd: REPO_ROOT, encoding: "utf8" },
      ),
    ) as string[];
    expect(resolved).toEqual(dynamic.map((entry) => entry.file));
  });

  it("when nothing changed, then the next plan finds it current instead of building it again", async () => {
    const again = await stackBundle({ programModule: PROGRAM_MODULE, cacheDir: scratch });
    expect(again.built).toBe(false);
    expect(again.file).toBe(bundle.file);
  });
});

describe("pnpm plan through the bundle", () => {
  it("when the platform is planned through the bundle and through tsx, then both write the same snapshots, byte for byte", async () => {
    const stacks = ["staging", "production"];
    const [bundled, transpiled] = [await planStacks(stacks), await planStacks(stacks, { runner: "tsx" })];
    expect(bundled.map((plan) => plan.stack)).toEqual(stacks);
    for (const [index, plan] of bundled.entries()) {
      const other = transpiled[index]!;
      expect(plan.snapshot.resources.length).toBeGreaterThan(100);
      expect(serializeSnapshot(plan.snapshot)).toBe(serializeSnapshot(other.snapshot));
      expect(plan.violations).toEqual(other.violations);
    }
  });
});

describe("the bundle's cache", () => {
  let folder: string;
  let source: PlanSource;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    writeFileSync(path.join(folder, file), text);
  };
  const plan = async (runner: "bundle" | "tsx" = "bundle") => {
    const planned = await planStack("staging", { ...source, runner });
    return { outputs: planned.snapshot.outputs, built: planned.timings.bundleBuilt };
  };

  beforeEach(() => {
    mkdirSync(SCRATCH_PARENT, { recursive: true });
    folder = mkdtempSync(path.join(SCRATCH_PARENT, "plan-bundle-test-"));
    source = { programModule: path.join(folder, "program.ts"), bundleCacheDir: path.join(folder, "cache") };
    write(
      "program.ts",
      [
        'import { greeting } from "./greeting";',
        'import { where } from "./nested/where";',
        "export async function program(): Promise<Record<string, string>> {",
        "  await Promise.resolve();",
        "  return { greeting, ...where() };",
        "}",
        "",
      ].join("\n"),
    );
    write("greeting/index.ts", 'export const greeting = "hello";\n');
    write("nested/where.ts", "export const where = () => ({ dir: __dirname, file: __filename });\n");
  });
  afterEach(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it("when a module changes, then the next plan rebuilds the bundle and runs the edit, as tsx does", async () => {
    expect(await plan()).toEqual({
      outputs: { greeting: "hello", dir: path.join(folder, "nested"), file: path.join(folder, "nested", "where.ts") },
      built: true,
    });
    expect((await plan()).built).toBe(false);

    write("greeting/index.ts", 'export const greeting = "bonjour";\n');
    const edited = await plan();
    expect(edited).toMatchObject({ outputs: { greeting: "bonjour" }, built: true });
    expect((await plan("tsx")).outputs).toEqual(edited.outputs);
  });

  it("when a file is added that an import now resolves to, then the bundle is rebuilt with it", async () => {
    expect((await plan()).outputs["greeting"]).toBe("hello");
    // `./greeting` meant greeting/index.ts; greeting.ts comes first once it exists.
    write("greeting.ts", 'export const greeting = "hallo";\n');
    expect(await plan()).toMatchObject({ outputs: { greeting: "hallo" }, built: true });
    expect((await plan("tsx")).outputs["greeting"]).toBe("hallo");
  });

  it("when a tsconfig.json appears beside a module, or the manifest or bundle is damaged, then it is rebuilt", async () => {
    const options = { programModule: source.programModule!, cacheDir: source.bundleCacheDir! };
    const first = await stackBundle(options);
    expect(first.built).toBe(true);
    expect((await stackBundle(options)).built).toBe(false);

    write("nested/tsconfig.json", "{}\n");
    expect((await stackBundle(options)).built).toBe(true);

    const manifest = path.join(path.dirname(first.file), "manifest.json");
    writeFileSync(manifest, "{ cut short");
    expect((await stackBundle(options)).built).toBe(true);

    unlinkSync((await stackBundle(options)).file);
    const rebuilt = await stackBundle(options);
    expect(rebuilt.built).toBe(true);
    expect((await plan()).outputs["greeting"]).toBe("hello");
  });

  it("when a module does not parse, then the plan fails naming the file, line and column", async () => {
    write("greeting/index.ts", 'export const greeting = "hello";\nexport const broken = ;\n');
    await expect(plan()).rejects.toThrow(
      /^cannot bundle infra\/node_modules\/\.cache\/plan-bundle-test-\w+\/program\.ts: infra\/node_modules\/\.cache\/plan-bundle-test-\w+\/greeting\/index\.ts:2:23: Unexpected ";"$/,
    );
  });
});
