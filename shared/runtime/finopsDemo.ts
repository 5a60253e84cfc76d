import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startFinopsEmulator, type FinopsEmulator, type Row } from "../../test/emulators/finops/index.js";
import type { TokenServer } from "../../test/emulators/token/index.js";
import { activityIdOf, keyFieldsOf, type FinopsJob } from "../config/finopsJob.js";
import type { SyncConfig } from "../config/mapping.js";
import type { RunRecord } from "../ports.js";

/**
 * The Finance & Operations part of `npm start` (docs/finops.md "Try it locally"): an F&O emulator
 * for the mapping file's `finops` jobs, on the stack's token endpoint, and the demo's jobs
 * (examples/finops-demo) added to the demo mapping. They are not in sync.config.json itself: that
 * file is also the deployed sample, where F&O jobs would need a real FINOPS_BASE_URL.
 */

/** The repository's demo mapping file: `npm start` on its defaults. */
export const DEMO_MAPPING_PATH = fileURLToPath(new URL("../../sync.config.json", import.meta.url));
/** The F&O demo's jobs (a mapping file with `"mappings": []`: it also runs on its own with `--config`). */
export const FINOPS_DEMO_CONFIG_PATH = fileURLToPath(new URL("../../examples/finops-demo/sync.config.json", import.meta.url));
/** The rows of the export message the emulator holds when the demo starts (F&O's vendor invoice headers). */
export const FINOPS_DEMO_EXPORT_PATH = fileURLToPath(new URL("../../examples/finops-demo/vendor-invoices.json", import.meta.url));

function demoJobsRaw(): Record<string, unknown>[] {
  return (JSON.parse(readFileSync(FINOPS_DEMO_CONFIG_PATH, "utf8")) as { finops: Record<string, unknown>[] }).finops;
}

/**
 * The demo mapping file's JSON with the F&O demo's jobs added, or undefined when `configPath` is not
 * the demo mapping or already has jobs of its own.
 */
export function demoMappingWithFinops(configPath: string): Record<string, unknown> | undefined {
  if (configPath !== DEMO_MAPPING_PATH) return undefined;
  const json = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  if (Array.isArray(json.finops) && json.finops.length) return undefined;
  // The copy lives in .local/: its "$schema" would no longer point at the schema next to the original.
  const { $schema: _schema, ...rest } = json;
  return { ...rest, finops: demoJobsRaw() };
}

/** Where `npm start` writes the demo mapping with the F&O demo's jobs (the functions read it from SYNC_CONFIG_PATH). */
export const DEMO_WITH_FINOPS_FILE = ".local/demo-with-finops.sync.config.json";

/** The mapping file `npm start` runs: the demo mapping with the F&O demo's jobs (written to .local/), else `configPath` itself. */
export function withFinopsDemo(configPath: string): string {
  let json: Record<string, unknown> | undefined;
  try {
    json = demoMappingWithFinops(configPath);
  } catch {
    return configPath; // not readable JSON: the mapping file's loader names the problem
  }
  if (!json) return configPath;
  const path = resolve(DEMO_WITH_FINOPS_FILE);
  mkdirSync(resolve(path, ".."), { recursive: true });
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
  return path;
}

/** The demo's export rows for each job of `config` that is the demo's export job (by activity id). */
export function demoExports(config: SyncConfig): { activityId: string; rows: Row[] }[] {
  const demoExport = demoJobsRaw().find((j) => j.direction === "from-finops");
  const id = String(demoExport?.activityId ?? "").toUpperCase();
  const jobs = (config.finops ?? []).filter((j) => j.direction === "from-finops" && j.api === "recurring" && activityIdOf(j) === id);
  if (!jobs.length) return [];
  const rows = JSON.parse(readFileSync(FINOPS_DEMO_EXPORT_PATH, "utf8")) as Row[];
  return jobs.map((j) => ({ activityId: activityIdOf(j), rows }));
}

export interface StackFinopsOptions {
  jobs: FinopsJob[];
  /** Export messages waiting in F&O at start. */
  exports?: { activityId: string; rows: Row[] }[];
}

/** The entity an emulated job or data project holds: the job's entity, its package file, else the app's entity. */
function entityOf(job: FinopsJob): string {
  return job.entity ?? job.entityFile ?? job.app.entity;
}

/**
 * An F&O emulator serving `jobs`: a recurring data job for each `recurring` job (import for
 * to-finops, export for from-finops), a data project (no rows) for each `package` job; tokens from
 * the stack's endpoint with audience = the emulator's URL, the integration's client on every policy.
 */
export async function startStackFinops(options: StackFinopsOptions, token: TokenServer, tenantId: string, clientId: string): Promise<FinopsEmulator> {
  const fo = await startFinopsEmulator({
    tokenIssuer: { jwks: () => token.jwks(), issuer: `${token.authorityHost}/${tenantId}/v2.0`, authorityHost: token.authorityHost, tenantId },
    allowedAppIds: [clientId],
  });
  try {
    for (const job of options.jobs) {
      if (job.api === "package") {
        fo.defineProject({ name: job.dataProject!, entity: entityOf(job), rows: [], keyFields: keyFieldsOf(job) });
      } else {
        fo.defineJob({ activityId: activityIdOf(job), direction: job.direction === "to-finops" ? "import" : "export", entity: entityOf(job), format: job.format, keyFields: keyFieldsOf(job) });
      }
    }
    for (const e of options.exports ?? []) fo.seedExport(e.activityId, e.rows);
    return fo;
  } catch (e) {
    await fo.close().catch(() => undefined);
    throw e;
  }
}

/** Console lines of `npm start` about the F&O emulator and its jobs. */
export function finopsStartLines(fo: FinopsEmulator, config: SyncConfig, functionsUrl: string): string[] {
  const jobs = config.finops ?? [];
  return [
    `  F&O emulator          ${fo.url}  (control routes: ${fo.url}/_emulator/messages, /_emulator/imports?entity=…, POST /_emulator/exports/<activityId>)`,
    ...jobs.map((j) => `    job ${j.name}: ${j.direction} ${j.app.entity} ${j.direction === "to-finops" ? "→" : "←"} ${entityOf(j)} (${j.api}, ${j.format}` +
      `${j.api === "recurring" ? `, activity ${activityIdOf(j)}` : ""}), ${j.schedule ? `schedule ${j.schedule}` : "on the sync's schedule"}`),
    `    watch: ${functionsUrl}/api/finops/jobs (admin key), npm run sync -- --finops <job>`,
  ];
}

/** One line per F&O job run of the first sync: what it moved. */
export function finopsRunLines(runs: RunRecord[], config: SyncConfig): string[] {
  const jobs = new Map((config.finops ?? []).map((j) => [j.name, j]));
  return runs.flatMap((r) => {
    const job = jobs.get(r.mapping);
    if (!job) return [];
    const c = job.direction === "to-finops" ? r.toDataverse : r.toApp;
    const moved = c.created + c.updated;
    const what = job.direction === "to-finops" ? `${moved} record(s) sent to F&O` : `${moved} record(s) written to the app`;
    return [`  F&O job ${r.mapping}: ${r.status}, ${what}, ${c.failed} failed${r.error ? `: ${r.error}` : ""}`];
  });
}
