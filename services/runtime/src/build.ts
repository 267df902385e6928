/**
 * `pnpm --filter @paimon/runtime build`: bundles the entrypoint and everything it imports —
 * our packages (TypeScript sources) and their production dependencies — into one
 * `dist/main.js` with a source map. The image's final stage copies `dist/` alone: no
 * node_modules, no devDependencies, no compiler. `dist/meta.json` lists every input file and
 * package, which the image tests check against `.dockerignore` and auditors read as the bill of
 * materials.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { build, type BuildOptions } from "esbuild";

export const PACKAGE_DIR = path.resolve(__dirname, "..");

/**
 * vega-canvas, under the monthly report's charts, loads the optional `canvas` package with a
 * top-level await in its Node build, which a CommonJS bundle cannot hold. The report only draws
 * SVG, which needs no canvas: the bundle takes the package's browser build, the same code without
 * that import.
 */
function vegaCanvasWithoutNodeCanvas(): string {
  const vega = require.resolve("vega", { paths: [path.join(PACKAGE_DIR, "..", "..", "scripts")] });
  const canvas = require.resolve("vega-canvas", { paths: [path.dirname(vega)] });
  return path.join(path.dirname(canvas), "vega-canvas.browser.js");
}

export function buildOptions(outdir: string): BuildOptions {
  return {
    entryPoints: { main: path.join(PACKAGE_DIR, "src", "entry.ts") },
    outdir,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    sourcemap: "linked",
    // Source file names stay readable in stack traces (`--enable-source-maps`).
    sourcesContent: false,
    metafile: true,
    logLevel: "warning",
    legalComments: "linked",
    // Optional native speed-ups their packages load inside try/catch, and never need.
    external: ["pg-native", "bufferutil", "utf-8-validate"],
    alias: { "vega-canvas": vegaCanvasWithoutNodeCanvas() },
  };
}

export async function buildRuntime(outdir = path.join(PACKAGE_DIR, "dist")): Promise<string> {
  const result = await build(buildOptions(outdir));
  writeFileSync(path.join(outdir, "meta.json"), `${JSON.stringify(result.metafile, null, 2)}\n`);
  return path.join(outdir, "main.js");
}

if (require.main === module) {
  const outdir = process.argv[2];
  buildRuntime(outdir === undefined ? undefined : path.resolve(outdir)).then(
    (file) => {
      console.log(`built ${path.relative(process.cwd(), file)}`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
