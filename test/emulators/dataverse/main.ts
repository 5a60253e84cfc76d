// Standalone Dataverse emulator (`npm run emulator -- --help`): the demo schema, a schema file, or
// tables made from a mapping file, on PORT (default 7072). Tokens are checked against the JWKS at
// --jwks-url / EMULATOR_JWKS_URL, or, without one, against an embedded local token endpoint whose
// client credentials (the integration's and a person's) are written to .local/emulator.env.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadSyncConfig } from "../../../shared/config/loadConfig.js";
import { startTokenServer, type TokenServer } from "../token/index.js";
import { addPersonUser } from "./actAs.js";
import { DEMO_SCHEMA_PATH, startDataverseEmulator } from "./emulator.js";
import { loadSchema } from "./schema.js";
import { schemaFromMapping } from "./schemaFromMapping.js";

const USAGE = `Usage: npm run emulator -- [options]

The Dataverse Web API v9.2 emulator on its own (see test/emulators/dataverse/README.md).

Options:
  --port <n>          port on 127.0.0.1 (default PORT, else 7072; 0 picks a free one)
  --schema <file>     the tables, in the emulator's schema format (default: the demo schema)
  --config <file>     make the tables from a mapping file instead (sync.config.json format)
  --jwks-url <url>    check tokens against this JWKS (or EMULATOR_JWKS_URL); without it an
                      embedded token endpoint starts and its client credentials are written to
                      .local/emulator.env
  --issuer <iss>      the tokens' required issuer (or EMULATOR_ISSUER)
  -h, --help          this text

The control API (faults, request log, webhooks, writes as any user) is under /_emulator/.`;

function fail(message: string): never {
  console.error(`dataverse emulator: ${message}`);
  process.exit(1);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      "jwks-url": { type: "string" },
      issuer: { type: "string" },
      schema: { type: "string" },
      config: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (err) {
  fail(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const str = (name: string) => values[name] as string | undefined;
if (str("schema") && str("config")) fail("give --schema or --config, not both");

const port = Number(str("port") ?? process.env.PORT ?? 7072);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, got '${str("port") ?? process.env.PORT}'.`);

// The tables first: a schema or mapping file it cannot use fails before anything starts.
let schema: object | string = str("schema") ?? DEMO_SCHEMA_PATH;
try {
  if (str("config")) schema = schemaFromMapping(await loadSyncConfig(str("config")!));
  loadSchema(schema);
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}

let jwksUrl = str("jwks-url") ?? process.env.EMULATOR_JWKS_URL;
let issuer = str("issuer") ?? process.env.EMULATOR_ISSUER;
let token: TokenServer | undefined;
let person: { clientId: string; clientSecret: string } | undefined;
if (!jwksUrl) {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString("base64url");
  person = { clientId: randomUUID(), clientSecret: randomBytes(24).toString("base64url") };
  token = await startTokenServer({ tenantId, clients: [{ clientId, clientSecret }, person] });
  jwksUrl = `${token.authorityHost}/${tenantId}/discovery/v2.0/keys`;
  issuer = `${token.authorityHost}/${tenantId}/v2.0`;
  mkdirSync(".local", { recursive: true });
  const env = {
    DYNAMICS_TENANT_ID: tenantId, DYNAMICS_CLIENT_ID: clientId, DYNAMICS_CLIENT_SECRET: clientSecret, DYNAMICS_AUTHORITY_HOST: token.authorityHost,
    EMULATOR_PERSON_CLIENT_ID: person.clientId, EMULATOR_PERSON_CLIENT_SECRET: person.clientSecret,
  };
  writeFileSync(".local/emulator.env", Object.entries(env).map(([k, v]) => `${k}='${v}'`).join("\n") + "\n", { mode: 0o600 });
  console.log(`embedded token endpoint on ${token.authorityHost}; client credentials for it are in .local/emulator.env`);
}

async function fetchJwks(): Promise<{ keys: object[] }> {
  const res = await fetch(jwksUrl!);
  if (!res.ok) throw new Error(`JWKS request to ${jwksUrl} failed with HTTP ${res.status}`);
  return (await res.json()) as { keys: object[] };
}

try {
  await fetchJwks(); // fail fast with a clear message when the token endpoint is not up
} catch (err) {
  await token?.stop();
  fail(`cannot read the JWKS: ${err instanceof Error ? err.message : String(err)}`);
}
let emulator: Awaited<ReturnType<typeof startDataverseEmulator>>;
try {
  emulator = await startDataverseEmulator({ schema, port, auth: { jwks: fetchJwks, issuer } });
} catch (err) {
  await token?.stop();
  const reason = (err as NodeJS.ErrnoException).code === "EADDRINUSE" ? `port ${port} on 127.0.0.1 is already in use (set PORT or --port)` : err instanceof Error ? err.message : String(err);
  fail(reason);
}
if (person) {
  addPersonUser(emulator, person.clientId);
}
console.log(`Dataverse emulator listening on ${emulator.origin} (service root ${emulator.serviceRoot})`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    emulator.stop().then(() => token?.stop()).then(() => process.exit(0), () => process.exit(1));
  });
}
