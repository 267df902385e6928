/** What an alert is about; a down dependency mutes the alerts of what depends on it (see alertmanager.ts). */
export type Component =
  "api" | "event-listener" | "workers" | "fund" | "postgres" | "redis" | "timescaledb" | "backups" | "platform";

export interface SeriesInput {
  /** `metric{label="value"}` */
  readonly series: string;
  /** promtool's expanding notation, e.g. `0.07x20` or `0+60x30`. */
  readonly values: string;
}

/** One promtool scenario: input series, and when to look. */
export interface AlertScenario {
  readonly series: readonly SeriesInput[];
  /** When promtool evaluates, e.g. `6m` (after the `for`). */
  readonly at: string;
  /** The labels of the expression's result for the firing case (the rule's own labels are added). */
  readonly resultLabels?: Readonly<Record<string, string>>;
  /** The value the expression returns when firing, for the annotations. */
  readonly value?: number;
}

export interface AlertRule {
  /** PascalCase; also the name of the runbook page, `runbooks/<alert>.md`. */
  readonly alert: string;
  readonly expr: string;
  /** How long the condition must hold, e.g. `5m`. */
  readonly for: string;
  readonly severity: "critical" | "warning";
  readonly component: Component;
  /** Components this alert is downstream of: when one is down, this alert is muted. @default [] */
  readonly upstream?: readonly Component[];
  readonly summary: string;
  /**
   * Go template; may use `{{ $labels.x }}`, `{{ $value | humanizePercentage }}` and
   * `{{ printf "%.Nf" $value }}`, which the promtool tests expand.
   */
  readonly description: string;
  /** It fires once the condition has held for `for`… */
  readonly fires: AlertScenario;
  /** …and stays quiet just below its threshold. */
  readonly quiet: AlertScenario;
}
