import type { Meter } from "@opentelemetry/api";

/**
 * The metrics of the product contract (product.md, "Telemetry"): names, kinds and units. The Bicep
 * alert rules query these names in customMetrics; change them together.
 */
export const Metrics = {
  /** Records a run finished, by `mapping`, `direction` and `outcome` (created|updated|deleted|skipped|failed). */
  records: "sync.records",
  /** Seconds from a run's start to its end, by `mapping` and `status`. */
  runDuration: "sync.run.duration",
  /** Pending records, by `mapping` and `direction`. */
  pending: "sync.pending",
  /** Age in seconds of the oldest pending record, by `mapping` and `direction`. */
  pendingOldestAge: "sync.pending.oldest_age",
  /** Records that disagreed on a field at the last reconcile run, by `mapping` and `field` (and `critical`). */
  divergence: "sync.divergence",
  /** Seconds from a change on the source to its write on the target, by `mapping`, `direction` and `path`. */
  lag: "sync.lag",
  /** Dataverse 429 answers. */
  throttled: "dataverse.throttled",
  /** Seconds Dataverse asked us to wait (Retry-After) over those 429s. */
  throttleWait: "dataverse.throttle.wait",
  /** Tokens that could not be obtained, by `reason` (an AADSTS code, or the error code). */
  tokenFailures: "auth.token.failures",
  /** Whole days until the Dataverse credential expires (negative once it has). */
  credentialDaysLeft: "auth.credential.days_left",
} as const;

export type MetricName = (typeof Metrics)[keyof typeof Metrics];
type Kind = "counter" | "histogram" | "gauge";

export const MetricKinds: Record<MetricName, { kind: Kind; unit?: string; description: string }> = {
  [Metrics.records]: { kind: "counter", description: "records a run finished, by outcome" },
  [Metrics.runDuration]: { kind: "histogram", unit: "s", description: "run duration" },
  [Metrics.pending]: { kind: "gauge", description: "pending records" },
  [Metrics.pendingOldestAge]: { kind: "gauge", unit: "s", description: "age of the oldest pending record" },
  [Metrics.divergence]: { kind: "gauge", description: "records that diverged on a field at the last reconcile run" },
  [Metrics.lag]: { kind: "histogram", unit: "s", description: "from the change on the source to the write on the target" },
  [Metrics.throttled]: { kind: "counter", description: "Dataverse 429 answers" },
  [Metrics.throttleWait]: { kind: "counter", unit: "s", description: "time Dataverse asked us to wait" },
  [Metrics.tokenFailures]: { kind: "counter", description: "tokens that could not be obtained" },
  [Metrics.credentialDaysLeft]: { kind: "gauge", unit: "d", description: "days until the Dataverse credential expires" },
};

type Attributes = Record<string, string | number | boolean>;
type Recorder = (value: number, attributes: Attributes) => void;

/**
 * One OpenTelemetry instrument per metric name, of the kind the contract gives it (a counter adds,
 * a gauge holds the last value, a histogram records every value). Names outside the contract are
 * recorded as histograms, as before.
 */
export function metricRecorder(meter: Meter): (name: string, value: number, attributes: Attributes) => void {
  const instruments = new Map<string, Recorder>();
  const make = (name: string): Recorder => {
    const def = (MetricKinds as Record<string, (typeof MetricKinds)[MetricName] | undefined>)[name];
    const options = def ? { description: def.description, ...(def.unit ? { unit: def.unit } : {}) } : undefined;
    if (def?.kind === "counter") {
      const c = meter.createCounter(name, options);
      return (v, a) => c.add(v, a);
    }
    if (def?.kind === "gauge") {
      const g = meter.createGauge(name, options);
      return (v, a) => g.record(v, a);
    }
    const h = meter.createHistogram(name, options);
    return (v, a) => h.record(v, a);
  };
  return (name, value, attributes) => {
    let record = instruments.get(name);
    if (!record) instruments.set(name, (record = make(name)));
    record(value, attributes);
  };
}
