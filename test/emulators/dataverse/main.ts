// Standalone Dataverse emulator (`npm run emulator`): the demo schema on PORT (default 7072),
// tokens checked against the JWKS at --jwks-url / EMULATOR_JWKS_URL (the local token endpoint).
import { parseArgs } from "node:util";
import { DEMO_SCHEMA_PATH, startDataverseEmulator } from "./emulator.js";

const { values } = parseArgs({
  options: {
    "jwks-url": { type: "string" },
    issuer: { type: "string" },
    schema: { type: "string" },
    port: { type: "string" },
  },
});
const jwksUrl = values["jwks-url"] ?? process.env.EMULATOR_JWKS_URL;
if (!jwksUrl) {
  console.error("dataverse emulator: pass --jwks-url <url> or set EMULATOR_JWKS_URL (the token endpoint's /<tenant>/discovery/v2.0/keys).");
  process.exit(1);
}
const port = Number(values.port ?? process.env.PORT ?? 7072);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`dataverse emulator: PORT must be a port number, got '${values.port ?? process.env.PORT}'.`);
  process.exit(1);
}

async function fetchJwks(): Promise<{ keys: object[] }> {
  const res = await fetch(jwksUrl!);
  if (!res.ok) throw new Error(`JWKS request to ${jwksUrl} failed with HTTP ${res.status}`);
  return (await res.json()) as { keys: object[] };
}

try {
  await fetchJwks(); // fail fast with a clear message when the token endpoint is not up
} catch (err) {
  console.error(`dataverse emulator: cannot read the JWKS: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
const emulator = await startDataverseEmulator({
  schema: values.schema ?? DEMO_SCHEMA_PATH,
  port,
  auth: { jwks: fetchJwks, issuer: values.issuer ?? process.env.EMULATOR_ISSUER },
});
console.log(`Dataverse emulator listening on ${emulator.origin} (service root ${emulator.serviceRoot})`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    emulator.stop().then(() => process.exit(0), () => process.exit(1));
  });
}
