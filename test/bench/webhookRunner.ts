/**
 * The Functions app of the webhook latency measurement (webhookLatency.ts) in a process of its own,
 * as in production, where Dataverse and the app run elsewhere: the local runner on Azurite with the
 * settings from the environment (the emulator stack's). It runs the first sync, prints
 * `ready <url>` and serves until SIGTERM.
 *
 * Usage: node --import tsx test/bench/webhookRunner.ts '{"prefix": "...", "config": {...}}'
 */
import { parseSyncConfig } from "../../shared/config/loadConfig.js";
import type { SyncConfigInput } from "../../shared/config/mapping.js";
import { loadSettings } from "../../shared/config/settings.js";
import type { Logger } from "../../shared/ports.js";
import { startLocalRunner } from "../../shared/runtime/localRunner.js";
import { createServices } from "../../shared/runtime/services.js";

export interface WebhookRunnerOptions {
  prefix: string;
  config: SyncConfigInput;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const o = JSON.parse(process.argv[2] ?? "{}") as WebhookRunnerOptions;
const services = await createServices({
  settings: loadSettings(process.env), config: parseSyncConfig(o.config, "bench config"), queues: "storage", logger: quiet, tablePrefix: o.prefix, queuePrefix: `${o.prefix}-`,
});
const runner = await startLocalRunner(services, { host: "127.0.0.1", port: 0, schedule: "" });
await services.engine.startRuns({ mode: "delta", dryRun: false, trigger: "startup" });
await runner.idle();
process.stdout.write(`ready ${runner.url}\n`);
process.once("SIGTERM", () => void runner.stop().finally(() => process.exit(0)));
