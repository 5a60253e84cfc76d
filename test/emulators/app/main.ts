/**
 * Standalone sample app: `APP_API_KEY=… PORT=… node scripts/node22.mjs --import tsx test/emulators/app/main.ts`.
 * Serves the demo seed until Ctrl-C.
 */
import { startSampleApp } from "./sampleApp.js";

const apiKey = process.env.APP_API_KEY;
if (!apiKey) {
  console.error("APP_API_KEY is required (the bearer key clients must send)");
  process.exit(1);
}
const port = process.env.PORT ? Number(process.env.PORT) : 0;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got "${process.env.PORT}"`);
  process.exit(1);
}
const app = await startSampleApp({ apiKey, port, basePath: process.env.APP_BASE_PATH, seed: true });
console.log(`sample app listening on ${app.baseUrl}`);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    void app.stop().then(() => process.exit(0));
  });
}
