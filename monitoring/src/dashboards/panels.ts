import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as gauge from "@grafana/grafana-foundation-sdk/gauge";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";

/** Every panel reads the kube-prometheus-stack Prometheus, through the dashboard's variable. */
export const DATASOURCE: dashboard.DataSourceRef = { type: "prometheus", uid: "${datasource}" };

export interface Query {
  readonly expr: string;
  readonly legend?: string;
}

const target = (query: Query, index: number) => {
  const builder = new prometheus.DataqueryBuilder().expr(query.expr).refId(String.fromCharCode(65 + index));
  return query.legend ? builder.legendFormat(query.legend) : builder;
};

const steps = (pairs: readonly (readonly [number | null, string])[]): dashboard.Threshold[] =>
  pairs.map(([value, color]) => ({ value, color }));

/** A time series of one or more queries. */
export function timeSeries(title: string, unit: string, queries: readonly Query[], description?: string) {
  const panel = new timeseries.PanelBuilder().title(title).unit(unit).datasource(DATASOURCE).height(8).span(12);
  queries.forEach((query, index) => panel.withTarget(target(query, index)));
  return description ? panel.description(description) : panel;
}

/** A single number, coloured by thresholds (value, colour) — the first value null. */
export function statPanel(
  title: string,
  unit: string,
  query: Query,
  thresholds: readonly (readonly [number | null, string])[],
) {
  return new stat.PanelBuilder()
    .title(title)
    .unit(unit)
    .datasource(DATASOURCE)
    .height(6)
    .span(6)
    .withTarget(target(query, 0))
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps(thresholds)),
    );
}

/** A gauge between min and max, coloured by thresholds. */
export function gaugePanel(
  title: string,
  query: Query,
  range: { readonly min: number; readonly max: number },
  thresholds: readonly (readonly [number | null, string])[],
) {
  return new gauge.PanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .min(range.min)
    .max(range.max)
    .height(6)
    .span(6)
    .withTarget(target(query, 0))
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(steps(thresholds)),
    );
}

/** A dashboard with the Prometheus datasource variable, a stable uid, and the given rows. */
export function newDashboard(uid: string, title: string, description: string) {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(["paimon"])
    .editable()
    .timezone("utc")
    .refresh("30s")
    .time({ from: "now-6h", to: "now" })
    .withVariable(new dashboard.DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"));
}

/**
 * `$namespace`: the fund's workloads' namespace, which each stack configures — read from where the
 * API's scrape target is, so one dashboard serves every stack.
 */
export function workloadsNamespace() {
  return new dashboard.QueryVariableBuilder("namespace")
    .label("Namespace")
    .datasource(DATASOURCE)
    .query('label_values(up{job="paimon-api"}, namespace)')
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .hide(dashboard.VariableHide.HideVariable);
}

export const row = (title: string) => new dashboard.RowBuilder(title);
