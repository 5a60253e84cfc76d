import { Command, Option } from "commander";
import { isConfigError } from "../config/configError.js";
import { loadSyncConfig } from "../config/loadConfig.js";
import { loadSettings } from "../config/settings.js";
import { validateCommand } from "../config/validateCommand.js";
import { errorMessage } from "../errors.js";
import { defaultRegistry } from "../sync/registry.js";
import { loadEnvironment } from "./environment.js";
import { createServices } from "./services.js";
import { exitCodeOf, formatSummary } from "./summary.js";
import { runCycle } from "./syncCycle.js";
import { flushTelemetry, startTelemetry } from "./telemetry.js";

/** The `d365-sync` command (also behind `npm start`, `npm run sync`, `npm run validate`). */
const program = new Command("d365-sync").description("Two-way sync between an application and Dynamics 365 / Dataverse").showHelpAfterError();

program.command("sync")
  .description("run one complete sync cycle in this process, with all writes and retries")
  .option("--mapping <name>", "only this mapping")
  .option("--full", "re-read everything instead of the deltas since the last run", false)
  .option("--reconcile", "read both sides in full, compare them with the links, repair what diverged and report it", false)
  .option("--dry-run", "plan only: write nothing and print what would be written", false)
  .option("--json", "print the run summary as JSON on the last line", false)
  .option("--tenant <id>", "the registered tenant to sync (docs/multi-tenant.md); default: the settings' own", "default")
  .option("--finops <job>", "only this Finance & Operations job (the mapping file's finops array), run once")
  .option("--resend", "with --finops: an import whose answer was lost is not in F&O; send its records again", false)
  .option("--mark-sent", "with --finops: an import whose answer was lost is in F&O; do not send it again", false)
  .action(async (opts: { mapping?: string; full: boolean; reconcile: boolean; dryRun: boolean; json: boolean; tenant: string; finops?: string; resend: boolean; markSent: boolean }) => {
    const env = loadEnvironment();
    // One sync cycle serves no HTTP routes: ADMIN_API_KEY is not needed (a CI step or a scheduled job runs without it).
    const settings = loadSettings(env, { serveHttp: false });
    const config = await loadSyncConfig(settings.configPath, { registry: defaultRegistry.names() });
    // The run's telemetry (events and metrics) goes to Application Insights too, flushed before the exit.
    await startTelemetry(settings.appInsightsConnectionString);
    const base = await createServices({ settings, config, queues: "memory", env });
    const services = opts.tenant === "default" ? base : await (await import("../tenants/tenants.js")).tenantsOf(base).services(opts.tenant);
    const { summary, plans } = opts.finops
      ? await (await import("../finops/finopsCli.js")).finopsCycleSummary(services, [opts.finops], opts)
      : await runCycle(services, { mapping: opts.mapping, full: opts.full, reconcile: opts.reconcile, dryRun: opts.dryRun })
        .then(async (cycle) => (opts.mapping || opts.dryRun || !services.config.finops?.length ? cycle
          : { ...cycle, summary: await (await import("../finops/finopsCli.js")).withAllJobs(services, cycle.summary) }));
    if (!opts.json) console.log(await formatSummary(summary, plans, services.engine));
    else process.stdout.write(JSON.stringify(summary) + "\n");
    // stdout may be a pipe into a JSON parser: the reason a run failed goes to stderr as well.
    for (const m of summary.mappings) if (m.status === "failed") console.error(`d365-sync: the run of mapping ${m.name} failed: ${m.error ?? "no reason was recorded"}`);
    await flushTelemetry();
    process.exitCode = exitCodeOf(summary);
  });

program.command("export")
  .description("write a mapping's records as CSV for Dataverse's Import Data wizard (UTF-8 with BOM, logical names, choice labels, ISO dates)")
  .requiredOption("--mapping <name>", "the mapping to export")
  .option("--side <side>", "dataverse (logical names) or app (app field names)", "dataverse")
  .option("--out <file>", "write to this file instead of stdout")
  .action(async (opts: { mapping: string; side: string; out?: string }) => {
    const { runExport } = await import("../export/exportCommand.js");
    const settings = loadSettings(loadEnvironment(), { serveHttp: false });
    const config = await loadSyncConfig(settings.configPath, { registry: defaultRegistry.names() });
    await runExport(await createServices({ settings, config, queues: "memory" }), opts);
  });

program.command("validate")
  .description("check the mapping file (and with --env the settings); lists every problem")
  .option("--config <path>", "mapping file (default SYNC_CONFIG_PATH or sync.config.json)")
  .option("--env", "also validate the settings in the environment", false)
  .action(async (opts: { config?: string; env: boolean }) => {
    const result = await validateCommand({ config: opts.config, env: opts.env, environment: loadEnvironment() });
    for (const w of result.warnings) console.warn(`warning: ${w}`);
    if (result.ok) console.log("configuration is valid");
    else {
      console.error(`${result.problems.length} problem(s):`);
      for (const p of result.problems) console.error(`  - ${p}`);
    }
    process.exitCode = result.ok ? 0 : 1;
  });

program.command("start")
  .description("run the functions locally, against embedded emulators made for the mapping file unless Dynamics, app and storage settings are given")
  .addOption(new Option("--schedule <ncrontab>", "local schedule (default: every 30 seconds)"))
  .option("--config <path>", "mapping file (default SYNC_CONFIG_PATH or sync.config.json); the emulator's tables and the app's entities come from it")
  .option("--schema <path>", "emulator schema file instead of tables made from the mapping file (format: test/emulators/dataverse/README.md)")
  .option("--seed <entity=file>", "records for the app from a CSV or JSON file, per mapping or app entity (repeatable), e.g. assets=./assets.csv",
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
  .option("--tenants <n>", "also emulate N customer tenants (1-5), each with its own Entra tenant, Dataverse emulator and app (docs/multi-tenant.md)", (v: string) => Number(v))
  .action(async (opts: { schedule?: string; config?: string; schema?: string; seed?: string[]; tenants?: number }) => {
    const { startLocal } = await import("./localStack.js");
    await startLocal({ schedule: opts.schedule, config: opts.config, schema: opts.schema, seed: opts.seed, tenants: opts.tenants });
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isConfigError(e)) {
    console.error(`configuration problem:\n${e.problems.map((p) => `  - ${p}`).join("\n")}`);
  } else {
    console.error(`d365-sync: ${errorMessage(e)}`);
  }
  process.exitCode = 1;
});
