import { startTelemetry } from "../shared/runtime/telemetry.js";

// Loaded by the host with the other files in `main`: worker-side telemetry (custom events and
// metrics) when Application Insights is configured; the host sends requests and logs itself.
void startTelemetry(process.env.APPLICATIONINSIGHTS_CONNECTION_STRING).catch((e: unknown) => {
  console.error(`Application Insights could not start: ${e instanceof Error ? e.message : String(e)}`);
});
