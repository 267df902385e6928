import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generatedFiles } from "./outputs";

const root = path.resolve(__dirname, "..");

describe("generated files", () => {
  it.each(generatedFiles().map((file) => [file.path, file.content]))(
    "then %s is committed and fresh",
    (file, content) => {
      let committed: string | undefined;
      try {
        committed = readFileSync(path.join(root, file), "utf8");
      } catch {
        committed = undefined;
      }
      expect(committed, "run `pnpm generate` and commit the result").toBe(content);
    },
  );
});
