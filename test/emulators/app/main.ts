/**
 * Standalone App Sync API server:
 * `APP_API_KEY=… PORT=… node scripts/node22.mjs --import tsx test/emulators/app/main.ts [--config <mapping file> [--seed <entity>=<file>]…]`.
 * Without `--config` it serves the demo seed; with it, the mapping's app entities, seeded from the
 * CSV or JSON files (docs/local-development.md, "Your own mapping file"). Runs until Ctrl-C.
 */
import { parseArgs } from "node:util";
import { loadSyncConfig } from "../../../shared/config/loadConfig.js";
import { startSampleApp } from "./sampleApp.js";
import { loadSeedFiles, parseSeedOption } from "./seedFiles.js";

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const apiKey = process.env.APP_API_KEY;
if (!apiKey) fail("APP_API_KEY is required (the bearer key clients must send)");
const port = process.env.PORT ? Number(process.env.PORT) : 0;
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, got "${process.env.PORT}"`);

let options: Parameters<typeof startSampleApp>[0] = { apiKey, port, basePath: process.env.APP_BASE_PATH, seed: true };
try {
  const { values } = parseArgs({ options: { config: { type: "string" }, seed: { type: "string", multiple: true } } });
  if (values.seed?.length && !values.config) throw new Error("--seed needs --config (the mapping file types the cells)");
  if (values.config) {
    const config = await loadSyncConfig(values.config);
    const seed = loadSeedFiles((values.seed ?? []).map(parseSeedOption), config);
    options = { ...options, seed, entities: [...new Set(config.mappings.map((m) => m.app.entity))] };
  }
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
const app = await startSampleApp(options);
console.log(`App Sync API server listening on ${app.baseUrl}`);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    void app.stop().then(() => process.exit(0));
  });
}
