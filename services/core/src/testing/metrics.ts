/**
 * The sum of the samples named `sample` in a Prometheus text exposition whose labels include
 * `labels` (in any order); 0 when there are none.
 */
export function sampleValue(text: string, sample: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== sample) continue;
    const found = new Map([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) sum += Number(match[3]);
  }
  return sum;
}

/** Scrapes `http://127.0.0.1:<port>/metrics` and sums `sample` as `sampleValue` does. */
export async function scrapedValue(
  port: number,
  sample: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
  return sampleValue(text, sample, labels);
}
