import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram, type MetricData } from "@opentelemetry/sdk-metrics";
import type { Telemetry } from "../../shared/ports.js";
import { otelTelemetry } from "../../shared/runtime/telemetry.js";

export interface MetricPoint {
  attributes: Record<string, unknown>;
  value: number | Histogram;
}

/**
 * The product's OpenTelemetry telemetry over the SDK's in-memory exporter: what Application Insights
 * would receive, read back after a forced export (cumulative values).
 */
export function inMemoryMetrics() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const metric = async (name: string): Promise<MetricData | undefined> => {
    await reader.forceFlush();
    return exporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
  };
  return {
    telemetry: otelTelemetry(provider.getMeter("d365-sync")) as Telemetry,
    metric,
    /** Every point of `name` in the last export, with its unit. */
    async points(name: string): Promise<{ unit: string; points: MetricPoint[] }> {
      const m = await metric(name);
      return { unit: m?.descriptor.unit ?? "", points: ((m?.dataPoints ?? []) as DataPoint<number | Histogram>[]).map((p) => ({ attributes: p.attributes, value: p.value })) };
    },
    stop: () => provider.shutdown(),
  };
}
