// Standalone Dataverse emulator (`npm run emulator`): the demo schema on PORT (default 7072),
// tokens checked against the JWKS at --jwks-url / EMULATOR_JWKS_URL, or, without one, against an
// embedded local token endpoint whose client credentials are written to .local/emulator.env.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startTokenServer, type TokenServer } from "../token/index.js";
import { DEMO_SCHEMA_PATH, startDataverseEmulator } from "./emulator.js";

const { values } = parseArgs({
  options: {
    "jwks-url": { type: "string" },
    issuer: { type: "string" },
    schema: { type: "string" },
    port: { type: "string" },
  },
});
let jwksUrl = values["jwks-url"] ?? process.env.EMULATOR_JWKS_URL;
let issuer = values.issuer ?? process.env.EMULATOR_ISSUER;
let token: TokenServer | undefined;
if (!jwksUrl) {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString("base64url");
  token = await startTokenServer({ tenantId, clients: [{ clientId, clientSecret }] });
  jwksUrl = `${token.authorityHost}/${tenantId}/discovery/v2.0/keys`;
  issuer = `${token.authorityHost}/${tenantId}/v2.0`;
  mkdirSync(".local", { recursive: true });
  const env = { DYNAMICS_TENANT_ID: tenantId, DYNAMICS_CLIENT_ID: clientId, DYNAMICS_CLIENT_SECRET: clientSecret, DYNAMICS_AUTHORITY_HOST: token.authorityHost };
  writeFileSync(".local/emulator.env", Object.entries(env).map(([k, v]) => `${k}='${v}'`).join("\n") + "\n", { mode: 0o600 });
  console.log(`embedded token endpoint on ${token.authorityHost}; client credentials for it are in .local/emulator.env`);
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
  auth: { jwks: fetchJwks, issuer },
});
console.log(`Dataverse emulator listening on ${emulator.origin} (service root ${emulator.serviceRoot})`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    emulator.stop().then(() => token?.stop()).then(() => process.exit(0), () => process.exit(1));
  });
}
