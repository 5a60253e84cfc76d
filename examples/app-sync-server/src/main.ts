/**
 * Runs the example on its own:
 *   APP_API_KEY=<key> [PORT=8080] [HOST=127.0.0.1] [BASE_PATH=/v1] [SEED_FILE=seed.json] \
 *     node scripts/node22.mjs --import tsx examples/app-sync-server/src/main.ts
 * SEED_FILE is JSON: {"<entity>": [{"id": "…", "data": {…}, "dataverseId"?: "…"}]}.
 */
import { readFileSync } from "node:fs";
import { entities } from "./entities.js";
import { exactNumbers } from "./exactJson.js";
import { startAppSyncServer } from "./server.js";

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const apiKey = process.env.APP_API_KEY || fail("APP_API_KEY is required: the bearer key the sync sends (its APP_API_KEY)");
const port = Number(process.env.PORT ?? "8080");
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, got "${process.env.PORT}"`);
let seed = {};
if (process.env.SEED_FILE) {
  try {
    seed = JSON.parse(readFileSync(process.env.SEED_FILE, "utf8"), exactNumbers) as typeof seed;
  } catch (e) {
    fail(`SEED_FILE ${process.env.SEED_FILE} could not be read as JSON: ${(e as Error).message}`);
  }
}

const server = await startAppSyncServer({ apiKey, entities, seed, port, host: process.env.HOST, basePath: process.env.BASE_PATH })
  .catch((e: unknown) => fail(e instanceof Error ? e.message : String(e)));
console.log(`App Sync API listening on ${server.baseUrl} (entities: ${Object.keys(entities).join(", ")})`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.stop().then(() => process.exit(0)));
}
