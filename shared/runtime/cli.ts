import { Command, Option } from "commander";
import { isConfigError } from "../config/configError.js";
import { loadSyncConfig } from "../config/loadConfig.js";
import { loadSettings } from "../config/settings.js";
import { validateCommand } from "../config/validateCommand.js";
import { errorMessage } from "../errors.js";
import { defaultRegistry } from "../sync/registry.js";
import { loadEnvironment } from "./environment.js";
import { createServices } from "./services.js";
import { exitCodeOf, type RunSummary } from "./summary.js";
import { runCycle } from "./syncCycle.js";
import type { RunPlan } from "../sync/planner.js";

/** The `d365-sync` command (also behind `npm start`, `npm run sync`, `npm run validate`). */
const program = new Command("d365-sync").description("Two-way sync between an application and Dynamics 365 / Dataverse").showHelpAfterError();

program.command("sync")
  .description("run one complete sync cycle in this process, with all writes and retries")
  .option("--mapping <name>", "only this mapping")
  .option("--full", "re-read everything instead of the deltas since the last run", false)
  .option("--reconcile", "read both sides in full, compare them with the links, repair what diverged and report it", false)
  .option("--dry-run", "plan only: write nothing and print what would be written", false)
  .option("--json", "print the run summary as JSON on the last line", false)
  .action(async (opts: { mapping?: string; full: boolean; reconcile: boolean; dryRun: boolean; json: boolean }) => {
    const env = loadEnvironment();
    // One sync cycle serves no HTTP routes: ADMIN_API_KEY is not needed (a CI step or a scheduled job runs without it).
    const settings = loadSettings(env, { serveHttp: false });
    const config = await loadSyncConfig(settings.configPath, { registry: defaultRegistry.names() });
    const services = await createServices({ settings, config, queues: "memory" });
    const { summary, plans } = await runCycle(services, { mapping: opts.mapping, full: opts.full, reconcile: opts.reconcile, dryRun: opts.dryRun });
    if (!opts.json) printSummary(summary, plans);
    else process.stdout.write(JSON.stringify(summary) + "\n");
    // stdout may be a pipe into a JSON parser: the reason a run failed goes to stderr as well.
    for (const m of summary.mappings) if (m.status === "failed") console.error(`d365-sync: the run of mapping ${m.name} failed: ${m.error ?? "no reason was recorded"}`);
    process.exitCode = exitCodeOf(summary);
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
  .description("run the functions locally: the embedded emulators unless Dynamics, app and storage settings are given")
  .addOption(new Option("--schedule <ncrontab>", "local schedule (default: every 30 seconds)"))
  .action(async (opts: { schedule?: string }) => {
    const { startLocal } = await import("./localStack.js");
    await startLocal({ schedule: opts.schedule });
  });

function printSummary(summary: RunSummary, plans: Map<string, RunPlan>): void {
  const line = (c: RunSummary["mappings"][number]["toDataverse"]) =>
    `created ${c.created}, updated ${c.updated}, deleted ${c.deleted}, skipped ${c.skipped}, failed ${c.failed}`;
  console.log(`${summary.dryRun ? "dry run " : ""}${summary.runId}: ${summary.status}`);
  for (const m of summary.mappings) {
    console.log(`  ${m.name} (${m.status})`);
    console.log(`    to Dataverse: ${line(m.toDataverse)}`);
    console.log(`    to the app:   ${line(m.toApp)}`);
    if (m.conflicts) console.log(`    conflicts: ${m.conflicts}`);
    if (m.divergence) console.log(`    diverged: ${divergenceLine(m.divergence)}`);
    for (const n of m.notes) console.log(`    note: ${n}`);
    if (m.error) console.log(`    error: ${m.error}`);
    const plan = plans.get(m.name);
    if (plan) {
      for (const op of [...plan.toDataverse.map((o) => ["Dataverse", o] as const), ...plan.toApp.map((o) => ["app", o] as const)].slice(0, 50)) {
        console.log(`    would ${op[1].kind} in ${op[0]}: ${op[1].appId ?? op[1].dataverseId} ${JSON.stringify(op[1].values)}`);
      }
    }
  }
  for (const f of summary.failures) console.log(`  failed: ${f.mapping} ${f.direction} ${f.id}: ${f.code} ${f.message}`);
  const t = summary.totals;
  console.log(`written ${t.written}, skipped ${t.skipped}, conflicts ${t.conflicts}, failed ${t.failed}`);
}

/** `2 record(s) (email 1, score 1)`: what a reconcile run found before it repaired it. */
function divergenceLine(d: NonNullable<RunSummary["mappings"][number]["divergence"]>): string {
  const fields = Object.entries(d.fields).map(([f, n]) => `${f} ${n}`).join(", ");
  return `${d.records} record(s)${fields ? ` (${fields})` : ""}`;
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (isConfigError(e)) {
    console.error(`configuration problem:\n${e.problems.map((p) => `  - ${p}`).join("\n")}`);
  } else {
    console.error(`d365-sync: ${errorMessage(e)}`);
  }
  process.exitCode = 1;
});
