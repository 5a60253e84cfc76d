/**
 * The CSV export at scale (`npm run bench -- --export-rows N`): N contacts in the Dataverse emulator
 * and N mentors in the sample app, then `npm run export` for each side as a user runs it, in its own
 * process, measuring that process's peak RSS (its `maxRSS`, written at exit by this module loaded
 * as a preload, see RSS_FILE) and throughput. Target: 1,000,000 rows in at most 256 MB.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startEmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { mentorRecord } from "./benchData.js";

const RSS_FILE = "D365_EXPORT_BENCH_RSS_FILE";
// Loaded as a preload of the export process: report its peak RSS (KiB) as it exits.
if (process.env[RSS_FILE]) {
  const file = process.env[RSS_FILE];
  process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS)));
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The flags of `npm run export` (package.json): a small young generation keeps the peak low. */
const EXPORT_NODE_FLAGS = ["--max-semi-space-size=4", "--optimize-for-size"];
const INTEGRATION_USER = "5a0e0f2c-6a39-4c3e-8d4b-000000000002";

export interface ExportFigures {
  side: "dataverse" | "app";
  rows: number;
  seconds: number;
  bytes: number;
  peakRssMb: number;
}

export async function runExportBench(rows: number, storageConnectionString: string, log: (line: string) => void): Promise<ExportFigures[]> {
  const stack = await startEmulatorStack({ storageConnectionString, seed: false, dataverse: { log: { bodies: false } } });
  const dir = mkdtempSync(join(tmpdir(), "d365-export-bench-"));
  try {
    for (let i = 0; i < rows; i++) {
      const r = mentorRecord(i);
      stack.app.put("mentor", r.id, r.data);
      stack.dataverse.ctx.ops.create("contact", {
        hlf_mentorid: r.id, firstname: r.data.firstName, lastname: r.data.lastName, emailaddress1: r.data.email,
        hlf_certificationstatus: 100000000 + (i % 3), hlf_score: r.data.score, hlf_ispublic: r.data.isPublic,
      }, INTEGRATION_USER);
    }
    log(`export benchmark: ${rows} rows on each side`);
    const figures: ExportFigures[] = [];
    for (const side of ["dataverse", "app"] as const) {
      const out = join(dir, `${side}.csv`);
      const rssFile = join(dir, `${side}.rss`);
      const started = Date.now();
      await exportProcess({ ...stack.env, [RSS_FILE]: rssFile }, ["--mapping", "mentors", "--side", side, "--out", out]);
      const f: ExportFigures = { side, rows, seconds: (Date.now() - started) / 1000, bytes: statSync(out).size, peakRssMb: Number(readFileSync(rssFile, "utf8")) / 1024 };
      log(`export ${side}: ${rows} rows, ${(f.bytes / 1e6).toFixed(1)} MB in ${f.seconds.toFixed(1)} s, peak RSS ${f.peakRssMb.toFixed(0)} MB`);
      figures.push(f);
    }
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
}

/** `npm run export -- …` as a user runs it (the Node 22 launcher, tsx, cli.ts), with this module preloaded. */
function exportProcess(env: Record<string, string>, args: string[]): Promise<void> {
  const tsx = pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href;
  const probe = pathToFileURL(fileURLToPath(import.meta.url)).href;
  const child = spawn(process.execPath, [join(root, "scripts/node22.mjs"), ...EXPORT_NODE_FLAGS, "--import", tsx, "--import", probe, join(root, "shared/runtime/cli.ts"), "export", ...args], {
    cwd: root, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr?.on("data", (d) => (stderr += d));
  return new Promise((ok, fail) => child.once("exit", (code) => (code === 0 ? ok() : fail(new Error(`npm run export exited ${code}: ${stderr.slice(-2000)}`)))));
}
