/**
 * Charts for the monthly report, as SVG rendered here: a Vega-Lite spec compiled to Vega and
 * drawn by a headless view (`renderer: "none"`, `toSVG()`), so no browser, canvas or network is
 * needed. Vega is loaded on first use: only the monthly report draws.
 */
import type { TopLevelSpec } from "vega-lite";

export interface Point {
  /** ISO time. */
  readonly at: string;
  readonly value: number;
  readonly series: string;
}

export interface Bar {
  readonly label: string;
  readonly value: number;
  readonly group: string;
}

const WIDTH = 640;
const HEIGHT = 220;

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Values over time, one line per series. */
export function lineChart(title: string, unit: string, points: readonly Point[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: [...points] },
    mark: { type: "line", point: points.length < 50 },
    encoding: {
      x: { field: "at", type: "temporal", title: null },
      y: { field: "value", type: "quantitative", title: unit },
      color: { field: "series", type: "nominal", title: null },
    },
  };
}

/** One bar per label, coloured by group. */
export function barChart(title: string, unit: string, bars: readonly Bar[]): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    data: { values: [...bars] },
    mark: "bar",
    encoding: {
      y: { field: "label", type: "nominal", sort: "-x", title: null },
      x: { field: "value", type: "quantitative", title: unit },
      color: { field: "group", type: "nominal", title: null },
    },
  };
}
