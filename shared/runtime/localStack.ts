import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { loadSyncConfig } from "../config/loadConfig.js";
import { loadSettings } from "../config/settings.js";
import { errorMessage } from "../errors.js";
import { Settings } from "../names.js";
import { defaultRegistry } from "../sync/registry.js";
import { emulatorInputs, PersonEnv, startEmulatorStack, type EmulatorStack } from "./emulatorStack.js";
import { startFinopsRuns } from "../finops/finopsTriggers.js";
import { demoExports, finopsRunLines, finopsStartLines, withFinopsDemo } from "./finopsDemo.js";
import { formatEnvFile, loadEnvironment, STACK_ENV_FILE, STACK_PID } from "./environment.js";
import { startLocalRunner, type LocalRunner } from "./localRunner.js";
import { createServices } from "./services.js";
import { summarize, type RunSummary } from "./summary.js";

/** Settings that decide whether the real systems are used instead of the embedded emulators. */
const REAL = [Settings.dynamicsInstanceUrl, Settings.appBaseUrl, Settings.storage] as const;

export interface StartOptions {
  schedule?: string;
  /** The mapping file (else SYNC_CONFIG_PATH, else sync.config.json). */
  config?: string;
  /** An emulator schema file instead of tables made from the mapping. */
  schema?: string;
  /** `<mapping or app entity>=<file.csv|file.json>`: the generic app's records. */
  seed?: string[];
  /** Also emulate this many registered customer tenants (docs/multi-tenant.md); none by default. */
  tenants?: number;
}

/** How often a started stack checks that the process which started it is still there. */
const PARENT_CHECK_MS = 1000;

/**
 * `npm start`: the functions on the local runner, against the embedded emulators (Azurite in
 * memory, token endpoint, Dataverse emulator, an App Sync API server) unless the Dynamics, app and
 * storage settings are given. Any mapping file runs: the emulator's tables come from it (or from
 * `--schema`), and the app serves its entities, seeded from `--seed` files. Runs a first sync, then
 * follows a short schedule; Ctrl-C stops everything, and so does the end of the parent process.
 */
export async function startLocal(options: StartOptions): Promise<void> {
  const env = loadEnvironment(process.cwd(), process.env, { includeStack: false });
  // F&O settings stand in for the Dataverse one when only F&O jobs are configured (docs/finops.md).
  const useReal = REAL.every((name) => env[name]) || [Settings.finopsBaseUrl, Settings.appBaseUrl, Settings.storage].every((name) => env[name]);
  const requestedConfig = resolve(options.config ?? env[Settings.syncConfigPath] ?? "sync.config.json");
  // On the demo mapping with the embedded emulators, the F&O demo's jobs run too (finopsDemo.ts, docs/finops.md).
  const configPath = useReal ? requestedConfig : withFinopsDemo(requestedConfig);
  // The function files read it from the process environment too (the timer's schedule).
  env[Settings.syncConfigPath] = process.env[Settings.syncConfigPath] = configPath;
  let stack: EmulatorStack | undefined;
  let runner: LocalRunner | undefined;
  let demoTenants: { stop(): Promise<void> } | undefined;
  const stackFile = resolve(STACK_ENV_FILE);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log("stopping…");
    await runner?.stop().catch(() => undefined);
    await demoTenants?.stop().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    if (stack) rmSync(stackFile, { force: true });
    process.exit(code);
  };
  // `on`, not `once`: Ctrl-C reaches this process twice (the terminal's process group and the launcher's
  // forwarding); a second signal must not kill it halfway through stopping.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void stop(0));
  // A parent killed outright (SIGKILL) sends no signal: when this process is handed to another
  // parent, the one that started it is gone, and the stack must not outlive it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid === parent) return;
    console.error("d365-sync: the process that started it is gone; stopping");
    void stop(1);
  }, PARENT_CHECK_MS).unref();

  try {
    // The mapping file first: every problem in it is reported before anything starts.
    const config = await loadSyncConfig(configPath, { registry: defaultRegistry.names() });
    const tenantCount = options.tenants ?? 0;
    if (!Number.isInteger(tenantCount) || tenantCount < 0 || tenantCount > 5) throw new Error("--tenants must be a whole number from 1 to 5");
    if (tenantCount && useReal) throw new Error(`--tenants is for the embedded emulators, but ${REAL.join(", ")} are set: the real systems are used`);
    const entraTenants = tenantCount ? (await import("../tenants/demoTenants.js")).demoEntraTenants(tenantCount) : undefined;
    if (!useReal) {
      const missing = REAL.filter((name) => !env[name]);
      const inputs = emulatorInputs(config, { schemaPath: options.schema, seeds: options.seed });
      console.log(`using the embedded emulators (${missing.join(", ")} not set); mapping file ${configPath}, ${inputs.source}`);
      stack = await startEmulatorStack({ configPath, schema: inputs.schema, seed: inputs.demo, appSeed: inputs.appSeed, appEntities: inputs.appEntities, tokenTenants: entraTenants,
        finops: config.finops?.length ? { jobs: config.finops, exports: demoExports(config) } : undefined });
      Object.assign(env, stack.env);
      const person = { [PersonEnv.clientId]: stack.person.clientId, [PersonEnv.clientSecret]: stack.person.clientSecret, [PersonEnv.userId]: stack.person.userId };
      mkdirSync(dirname(stackFile), { recursive: true });
      writeFileSync(stackFile, formatEnvFile({ ...stack.env, ...person, [STACK_PID]: String(process.pid) }), { mode: 0o600 });
    } else if (options.schema || options.seed?.length) {
      throw new Error(`--schema and --seed are for the embedded emulators, but ${REAL.join(", ")} are set: the real systems are used`);
    }
    const settings = loadSettings(env);
    const services = await createServices({ settings, config, queues: "storage" });
    runner = await startLocalRunner(services, {
      host: settings.host, port: settings.port, schedule: options.schedule ?? (useReal ? undefined : "*/30 * * * * *"),
    });
    if (stack) {
      for (const m of config.mappings) {
        stack.dataverse.webhooks.register({
          table: m.dataverse.table, messages: ["Create", "Update", "Delete"], url: `${runner.url}/api/webhooks/dataverse`,
          authType: "WebhookKey", authValue: stack.env[Settings.dataverseWebhookKey],
        });
      }
      // The sample app signs change notices for its own edits, as a real app would.
      stack.app.setNotify({ url: `${runner.url}/api/webhooks/app`, secret: stack.env[Settings.appWebhookSecret] });
    }
    console.log("d365-sync is running");
    if (stack) {
      console.log(`  Azurite (in memory)   ${stack.env[Settings.storage].match(/BlobEndpoint=([^;]+)/)?.[1] ?? ""} (blob), queue and table next to it`);
      console.log(`  token endpoint        ${stack.token.authorityHost}`);
      console.log(`  Dataverse emulator    ${stack.dataverse.serviceRoot}`);
      console.log(`  App Sync API server   ${stack.app.baseUrl}  (entities: ${[...new Set([...config.mappings, ...(config.finops ?? [])].map((m) => m.app.entity))].join(", ")})`);
      if (stack.finops) for (const line of finopsStartLines(stack.finops, config, runner.url)) console.log(line);
      console.log(`  settings for the stack (secrets generated for this run): ${STACK_ENV_FILE}`);
      console.log(`  a person in Dataverse ${stack.person.fullName}: ${PersonEnv.clientId} and ${PersonEnv.clientSecret} in ${STACK_ENV_FILE}`);
    }
    console.log(`  functions             ${runner.url}/api  (health: ${runner.url}/api/health)`);
    console.log("first sync…");
    const runs = await services.engine.startRuns({ mode: "delta", dryRun: false, trigger: "startup" });
    // The F&O jobs too, each queued on sync-runs like its timer does (after the mappings' runs).
    runs.push(...await startFinopsRuns(services, (config.finops ?? []).map((j) => j.name), "startup"));
    await runner.idle();
    const finished = await Promise.all(runs.map(async (r) => (await services.state.getRun(r.runId)) ?? r));
    const summary = await summarize(services.state, finished[0]?.runId ?? "none", finished);
    console.log(`first sync ${summary.status}: written ${summary.totals.written}, skipped ${summary.totals.skipped}, ` +
      `conflicts ${summary.totals.conflicts}, failed ${summary.totals.failed}`);
    for (const line of finopsRunLines(finished, config)) console.log(line);
    for (const f of summary.failures) console.log(`  failed: ${f.mapping} ${f.direction} ${f.id}: ${f.code} ${f.message}`);
    // Against the emulators a failed run is a setup problem (the mapping and the tables disagree):
    // syncing on would fail the same way every 30 seconds. Real systems may recover: keep trying.
    if (stack && summary.status === "failed") throw new Error(`the first sync failed:\n${runFailures(summary)}`);
    if (stack && entraTenants) {
      const { startDemoTenants } = await import("../tenants/demoTenants.js");
      const inputs = emulatorInputs(config, { schemaPath: options.schema });
      if (!inputs.demo) throw new Error("--tenants emulates customers with the demo's schema and records: use it with the demo mapping file (or one that fits the demo schema)");
      const demo = await startDemoTenants({ services, config, token: stack.token, entraTenants, schema: inputs.schema, runnerUrl: runner.url, appApiKey: stack.env[Settings.appApiKey] });
      demoTenants = demo;
      writeFileSync(stackFile, formatEnvFile({ ...stack.env, [PersonEnv.clientId]: stack.person.clientId, [PersonEnv.clientSecret]: stack.person.clientSecret, [PersonEnv.userId]: stack.person.userId, ...demo.env, [STACK_PID]: String(process.pid) }), { mode: 0o600 });
      const { tenantsOf } = await import("../tenants/tenants.js");
      for (const t of demo.tenants) {
        const ts = await tenantsOf(services).services(t.id);
        const tenantRuns = await ts.engine.startRuns({ mode: "delta", dryRun: false, trigger: "startup" });
        await runner.idle();
        const done = await Promise.all(tenantRuns.map(async (r) => (await ts.state.getRun(r.runId)) ?? r));
        const s = await summarize(ts.state, done[0]?.runId ?? "none", done);
        console.log(`  tenant ${t.id}: Dataverse ${t.dataverse.serviceRoot}, app ${t.app.baseUrl}; first sync ${s.status}: written ${s.totals.written}, failed ${s.totals.failed}`);
      }
    }
    console.log("syncing on schedule; press Ctrl-C to stop");
  } catch (e) {
    // A ConfigError's message lists every problem.
    console.error(`d365-sync could not start: ${errorMessage(e)}`);
    await stop(1);
  }
}

function runFailures(summary: RunSummary): string {
  return summary.mappings.filter((m) => m.status === "failed").map((m) => `  - mapping ${m.name}: ${m.error ?? "no reason was recorded"}`).join("\n");
}
