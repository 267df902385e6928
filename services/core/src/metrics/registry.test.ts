import { describe, expect, it } from "vitest";
import { HTTP_DURATION_BUCKETS_SECONDS, METRICS, catalogued } from "./catalog";
import { createServiceMetrics } from "./registry";

describe("the metric catalog", () => {
  it("then it holds every metric of the operations spec's §5.1, with its labels", () => {
    expect(METRICS.paimon_redemption_requests_total).toMatchObject({ type: "counter", labels: ["channel", "status"] });
    expect(METRICS.paimon_pending_redemptions).toMatchObject({ type: "gauge", labels: ["channel"] });
    expect(METRICS.paimon_rebalance_executions_total).toMatchObject({ type: "counter", labels: ["trigger", "status"] });
    expect(METRICS.paimon_risk_level.type).toBe("gauge");
    expect(METRICS.paimon_l1_ratio.type).toBe("gauge");
    expect(METRICS.paimon_http_request_duration_seconds).toMatchObject({
      type: "histogram",
      labels: ["method", "route", "status"],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5],
    });
    expect(METRICS.paimon_event_processing_duration_seconds).toMatchObject({ buckets: [0.01, 0.1, 0.5, 1, 5, 10] });
    expect(METRICS.paimon_event_queue_size).toMatchObject({ type: "gauge", labels: ["priority"] });
  });

  it("then the L2 and L3 ratios the seed's dashboard plots are defined", () => {
    expect(catalogued("paimon_l2_ratio")).toBe(true);
    expect(catalogued("paimon_l3_ratio")).toBe(true);
  });

  it("when a name is a histogram's series, then it is catalogued; a typo is not", () => {
    expect(catalogued("paimon_http_request_duration_seconds_bucket")).toBe(true);
    expect(catalogued("paimon_risk_level_bucket")).toBe(false);
    expect(catalogued("paimon_l4_ratio")).toBe(false);
  });

  it("when a service registers metrics, then they come from the catalog on its own registry", async () => {
    const { registry, metrics } = createServiceMetrics(
      "api",
      ["paimon_http_request_duration_seconds", "paimon_risk_level"],
      {
        defaultMetrics: false,
      },
    );
    metrics.paimon_http_request_duration_seconds.observe({ method: "GET", route: "/v1/fund", status: "200" }, 0.02);
    metrics.paimon_risk_level.set(2);
    const text = await registry.metrics();
    expect(text).toContain('paimon_risk_level{service="api"} 2');
    expect(text).toContain(
      'paimon_http_request_duration_seconds_bucket{le="0.05",service="api",method="GET",route="/v1/fund",status="200"} 1',
    );
    expect(HTTP_DURATION_BUCKETS_SECONDS.every((le) => text.includes(`le="${le}"`))).toBe(true);
  });
});
