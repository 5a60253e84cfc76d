import { metrics, type Meter } from "@opentelemetry/api";
import { logs } from "@opentelemetry/api-logs";
import type { Telemetry } from "../ports.js";
import { secretMasker } from "../redact.js";
import { metricRecorder } from "../telemetry/metrics.js";

let started = false;

/**
 * Starts the Azure Monitor OpenTelemetry distro when a connection string is set (the distro throws
 * without one). Custom events are log records carrying `microsoft.custom_event.name`, which the
 * exporter routes to customEvents; metrics go to customMetrics. Without the distro the OpenTelemetry
 * API is a no-op, so nothing else needs a guard.
 */
export async function startTelemetry(connectionString: string | undefined): Promise<void> {
  if (started || !connectionString) return;
  const { useAzureMonitor } = await import("@azure/monitor-opentelemetry");
  // App Insights with local auth disabled (infra/) accepts Entra-authenticated ingestion only.
  const { ManagedIdentityCredential, DefaultAzureCredential } = await import("@azure/identity");
  const clientId = process.env.AZURE_CLIENT_ID;
  const credential = clientId ? new ManagedIdentityCredential({ clientId }) : process.env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ? new DefaultAzureCredential() : undefined;
  useAzureMonitor({ azureMonitorExporterOptions: { connectionString, ...(credential ? { credential } : {}) }, enableLiveMetrics: false });
  started = true;
}

/**
 * Sends what is buffered and stops the distro: `npm run sync` exits right after its run, before the
 * exporters' next interval. A no-op when telemetry was never started; never throws (logged instead).
 */
export async function flushTelemetry(): Promise<void> {
  if (!started) return;
  try {
    const { shutdownAzureMonitor } = await import("@azure/monitor-opentelemetry");
    await shutdownAzureMonitor();
  } catch (e) {
    // Only the error's name: an exporter's message may quote the ingestion connection.
    process.stderr.write(`d365-sync: telemetry could not be flushed (${e instanceof Error ? e.name : "unknown error"})\n`);
  }
  started = false;
}

type Props = Record<string, string | number | boolean | undefined>;

const clean = (p: Props | undefined) => Object.fromEntries(Object.entries(p ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean>;

/** `meter`: the global one by default (the distro's); tests pass one read by an in-memory exporter. */
export function otelTelemetry(meter: Meter = metrics.getMeter("d365-sync")): Telemetry {
  const logger = logs.getLogger("d365-sync");
  const record = metricRecorder(meter);
  return {
    event(name, properties) {
      logger.emit({ body: name, attributes: { "microsoft.custom_event.name": name, ...clean(properties) } });
    },
    metric(name, value, properties) {
      record(name, value, clean(properties));
    },
  };
}

/**
 * Telemetry with every known secret masked in its string properties, as the logger masks its lines:
 * custom events land in Application Insights, where more people can read them than the settings.
 */
export function maskedTelemetry(inner: Telemetry, secrets: readonly (string | undefined)[]): Telemetry {
  const mask = secretMasker(secrets);
  const masked = (p: Props | undefined): Props | undefined =>
    p && Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === "string" ? mask(v) : v]));
  return {
    event: (name, properties) => inner.event(name, masked(properties)!),
    metric: (name, value, properties) => inner.metric(name, value, masked(properties)),
  };
}

/** Telemetry kept in memory, for tests and for the local runner's dashboard of recent events. */
export class RecordingTelemetry implements Telemetry {
  readonly events: { name: string; properties: Props }[] = [];
  readonly metrics: { name: string; value: number; properties?: Props }[] = [];
  constructor(private readonly inner?: Telemetry) {}
  event(name: string, properties: Props): void {
    this.events.push({ name, properties });
    this.inner?.event(name, properties);
  }
  metric(name: string, value: number, properties?: Props): void {
    this.metrics.push({ name, value, properties });
    this.inner?.metric(name, value, properties);
  }
}
