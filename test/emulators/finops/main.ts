// Standalone F&O emulator (`npm run finops-emulator -- --help`) on PORT (default 7073). Tokens are
// checked against the JWKS at --jwks-url / EMULATOR_JWKS_URL, or, without one, against an embedded
// local token endpoint whose client credentials are written to .local/finops-emulator.env.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startTokenServer, type TokenServer } from "../token/index.js";
import { startFinopsEmulator, type FinopsEmulator } from "./emulator.js";
import type { FinopsJob, FinopsProject } from "./types.js";

const USAGE = `Usage: npm run finops-emulator -- [options]

The Finance & Operations emulator on its own (see test/emulators/finops/README.md).

Options:
  --port <n>                port on 127.0.0.1 (default PORT, else 7073; 0 picks a free one)
  --jobs <file>             JSON {"jobs": [FinopsJob…], "projects": [FinopsProject…]} to define at start
  --jwks-url <url>          check tokens against this JWKS (or EMULATOR_JWKS_URL); without it an
                            embedded token endpoint starts and its credentials go to .local/finops-emulator.env
  --issuer <iss>            the tokens' required issuer (or EMULATOR_ISSUER)
  --allowed-app-id <id>     an app on every job's policy (repeatable; default: the embedded client, else any app)
  --batch-delay-ms <n>      time per status step of the simulated batch (default 1000)
  --redelivery-ms <n>       unacked export messages come back after this long (default 1800000)
  --http-download-location  hand out http://<host>:80 DownloadLocations (the load-balancer quirk)
  -h, --help                this text

The control API (jobs, exports, imported rows, messages, time, throttling) is under /_emulator/.`;

function fail(message: string): never {
  console.error(`finops emulator: ${message}`);
  process.exit(1);
}

let values: ReturnType<typeof parse>["values"];
function parse() {
  return parseArgs({
    options: {
      port: { type: "string" }, jobs: { type: "string" }, "jwks-url": { type: "string" }, issuer: { type: "string" },
      "allowed-app-id": { type: "string", multiple: true }, "batch-delay-ms": { type: "string" }, "redelivery-ms": { type: "string" },
      "http-download-location": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
}
try {
  ({ values } = parse());
} catch (err) {
  fail(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const port = Number(values.port ?? process.env.PORT ?? 7073);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be a port number, got '${values.port ?? process.env.PORT}'.`);
const nonNegative = (name: "batch-delay-ms" | "redelivery-ms") => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) fail(`--${name} must be a number of milliseconds ≥ 0, got '${raw}'.`);
  return n;
};
let setup: { jobs?: FinopsJob[]; projects?: FinopsProject[] } = {};
if (values.jobs) {
  try {
    setup = JSON.parse(readFileSync(values.jobs, "utf8")) as typeof setup;
  } catch (err) {
    fail(`cannot read --jobs ${values.jobs}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

let jwksUrl = values["jwks-url"] ?? process.env.EMULATOR_JWKS_URL;
let issuer = values.issuer ?? process.env.EMULATOR_ISSUER;
let allowed = values["allowed-app-id"];
let token: TokenServer | undefined;
let credentials: Record<string, string> | undefined;
if (!jwksUrl) {
  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString("base64url");
  token = await startTokenServer({ tenantId, clients: [{ clientId, clientSecret }] });
  jwksUrl = `${token.authorityHost}/${tenantId}/discovery/v2.0/keys`;
  issuer = token.issuer;
  allowed ??= [clientId];
  credentials = { DYNAMICS_TENANT_ID: tenantId, DYNAMICS_CLIENT_ID: clientId, DYNAMICS_CLIENT_SECRET: clientSecret, DYNAMICS_AUTHORITY_HOST: token.authorityHost };
}

async function fetchJwks(): Promise<{ keys: object[] }> {
  const res = await fetch(jwksUrl!);
  if (!res.ok) throw new Error(`JWKS request to ${jwksUrl} failed with HTTP ${res.status}`);
  return (await res.json()) as { keys: object[] };
}

let emulator: FinopsEmulator;
try {
  await fetchJwks(); // fail fast with a clear message when the token endpoint is not up
  emulator = await startFinopsEmulator({
    port, tokenIssuer: { jwks: fetchJwks, issuer }, allowedAppIds: allowed, httpDownloadLocation: values["http-download-location"],
    batchDelayMs: nonNegative("batch-delay-ms"), redeliveryMs: nonNegative("redelivery-ms"),
  });
  for (const job of setup.jobs ?? []) emulator.defineJob(job);
  for (const project of setup.projects ?? []) emulator.defineProject(project);
} catch (err) {
  await token?.stop();
  fail((err as NodeJS.ErrnoException).code === "EADDRINUSE" ? `port ${port} on 127.0.0.1 is already in use (set PORT or --port)` : err instanceof Error ? err.message : String(err));
}
if (credentials) {
  mkdirSync(".local", { recursive: true });
  const env = { FINOPS_BASE_URL: emulator.url, ...credentials };
  writeFileSync(".local/finops-emulator.env", Object.entries(env).map(([k, v]) => `${k}='${v}'`).join("\n") + "\n", { mode: 0o600 });
  console.log(`embedded token endpoint on ${token!.authorityHost}; client credentials for it are in .local/finops-emulator.env`);
}
console.log(`F&O emulator listening on ${emulator.url} (token scope ${emulator.url}/.default)`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(() => token?.stop()).then(() => process.exit(0), () => process.exit(1));
  });
}
