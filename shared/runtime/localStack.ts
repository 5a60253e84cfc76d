import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { loadSyncConfig } from "../config/loadConfig.js";
import { loadSettings } from "../config/settings.js";
import { errorMessage } from "../errors.js";
import { Settings } from "../names.js";
import { defaultRegistry } from "../sync/registry.js";
import { startEmulatorStack, type EmulatorStack } from "./emulatorStack.js";
import { formatEnvFile, loadEnvironment, STACK_ENV_FILE, STACK_PID } from "./environment.js";
import { startLocalRunner, type LocalRunner } from "./localRunner.js";
import { createServices } from "./services.js";
import { summarize } from "./summary.js";

/** Settings that decide whether the real systems are used instead of the embedded emulators. */
const REAL = [Settings.dynamicsInstanceUrl, Settings.appBaseUrl, Settings.storage] as const;

/**
 * `npm start`: the functions on the local runner, against the embedded emulators (Azurite in
 * memory, token endpoint, Dataverse emulator, sample app) unless the Dynamics, app and storage
 * settings are given. Runs a first sync, then follows a short schedule; Ctrl-C stops everything.
 */
export async function startLocal(options: { schedule?: string }): Promise<void> {
  const env = loadEnvironment(process.cwd(), process.env, { includeStack: false });
  const useReal = REAL.every((name) => env[name]);
  let stack: EmulatorStack | undefined;
  let runner: LocalRunner | undefined;
  const stackFile = resolve(STACK_ENV_FILE);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log("stopping…");
    await runner?.stop().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    if (stack) rmSync(stackFile, { force: true });
    process.exit(code);
  };
  // `on`, not `once`: Ctrl-C reaches this process twice (the terminal's process group and the launcher's
  // forwarding); a second signal must not kill it halfway through stopping.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void stop(0));

  try {
    if (!useReal) {
      const missing = REAL.filter((name) => !env[name]);
      console.log(`using the embedded emulators (${missing.join(", ")} not set)`);
      stack = await startEmulatorStack({ configPath: env[Settings.syncConfigPath] ?? resolve("sync.config.json") });
      Object.assign(env, stack.env);
      mkdirSync(dirname(stackFile), { recursive: true });
      writeFileSync(stackFile, formatEnvFile({ ...stack.env, [STACK_PID]: String(process.pid) }), { mode: 0o600 });
    }
    const settings = loadSettings(env);
    const config = await loadSyncConfig(settings.configPath, { registry: defaultRegistry.names() });
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
      console.log(`  sample app            ${stack.app.baseUrl}`);
      console.log(`  settings for the stack (secrets generated for this run): ${STACK_ENV_FILE}`);
    }
    console.log(`  functions             ${runner.url}/api  (health: ${runner.url}/api/health)`);
    console.log("first sync…");
    const runs = await services.engine.startRuns({ mode: "delta", dryRun: false, trigger: "startup" });
    await runner.idle();
    const finished = await Promise.all(runs.map(async (r) => (await services.state.getRun(r.runId)) ?? r));
    const summary = await summarize(services.state, finished[0]?.runId ?? "none", finished);
    console.log(`first sync ${summary.status}: written ${summary.totals.written}, skipped ${summary.totals.skipped}, ` +
      `conflicts ${summary.totals.conflicts}, failed ${summary.totals.failed}`);
    for (const f of summary.failures) console.log(`  failed: ${f.mapping} ${f.direction} ${f.id}: ${f.code} ${f.message}`);
    console.log("syncing on schedule; press Ctrl-C to stop");
  } catch (e) {
    console.error(`d365-sync could not start: ${errorMessage(e)}`);
    await stop(1);
  }
}
