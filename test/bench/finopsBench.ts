/**
 * F&O jobs at scale (`npm run bench -- --finops N`): an export of N sales-order rows from the F&O
 * emulator into the sample app (a data package dequeued, downloaded, parsed streamed, written,
 * acked), then an import of N app records into F&O (CSV files of `batchSize` records, enqueued and
 * polled), each run as a user runs it (`npm run sync -- --finops <job>`) in its own process, whose
 * peak RSS is measured (test/bench/peakRss.ts, its preload), with the F&O calls it made.
 * Target: 100,000 rows each way in at most 256 MB.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startEmulatorStack } from "../../shared/runtime/emulatorStack.js";
import { startFinopsEmulator, type FinopsEmulator } from "../emulators/finops/index.js";
import { PEAK_RSS_FILE } from "./peakRss.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The flags of `npm run sync` (package.json). */
const SYNC_NODE_FLAGS = ["--max-semi-space-size=4", "--optimize-for-size"];
const IMPORT_ID = "6D31E09F-0249-459F-94F0-AAD9C2C47B64";
const EXPORT_ID = "C03BB937-09ED-46DE-86EE-4520D7D7E373";

export interface FinopsFigures {
  job: "export" | "import";
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
  /** F&O requests by operation (attempts included), and in all. */
  calls: Record<string, number>;
  totalCalls: number;
  exactlyOnce: boolean;
}

function callsOf(fo: FinopsEmulator, since: number): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const r of fo.requestLog().slice(since)) {
    const op = /\/api\/connector\/(\w+)/.exec(r.path)?.[1] ?? /DataEntities\.(\w+)/.exec(r.path)?.[1] ?? r.method;
    calls[op] = (calls[op] ?? 0) + 1;
  }
  return calls;
}

export async function runFinopsBench(rows: number, storageConnectionString: string, log: (line: string) => void): Promise<FinopsFigures[]> {
  const stack = await startEmulatorStack({ storageConnectionString, seed: false, dataverse: { log: { bodies: false } } });
  const tenantId = stack.env.DYNAMICS_TENANT_ID;
  const fo = await startFinopsEmulator({
    tokenIssuer: { jwks: () => stack.token.jwks(), issuer: `${stack.token.authorityHost}/${tenantId}/v2.0`, authorityHost: stack.token.authorityHost, tenantId },
    allowedAppIds: [stack.env.DYNAMICS_CLIENT_ID], batchDelayMs: 200,
  });
  const dir = mkdtempSync(join(tmpdir(), "d365-finops-bench-"));
  const tag = Date.now().toString(36);
  try {
    fo.defineJob({ activityId: EXPORT_ID, direction: "export", entity: "Sales order headers V2", format: "package" });
    fo.defineJob({ activityId: IMPORT_ID, direction: "import", entity: "Customer groups", format: "csv", keyFields: ["CUSTOMERGROUPID"] });
    const jobs = {
      export: { name: `bench-orders-${tag}`, direction: "from-finops", activityId: EXPORT_ID, format: "package", key: ["SALESORDERNUMBER"], app: { entity: "salesOrder" },
        fields: [{ app: "number", finops: "SALESORDERNUMBER" }, { app: "total", finops: "TOTALAMOUNT", type: "decimal" }, { app: "customer", finops: "ORDERINGCUSTOMERACCOUNTNUMBER" }] },
      import: { name: `bench-groups-${tag}`, direction: "to-finops", activityId: IMPORT_ID, entity: "Customer groups", format: "csv", app: { entity: "customerGroup" },
        fields: [{ app: "code", finops: "CUSTOMERGROUPID" }, { app: "name", finops: "DESCRIPTION" }, { app: "terms", finops: "PAYMENTTERMID" }] },
    };
    const config = join(dir, "sync.config.json");
    writeFileSync(config, JSON.stringify({ mappings: [], finops: Object.values(jobs) }));
    const env = { ...stack.env, FINOPS_BASE_URL: fo.url, SYNC_CONFIG_PATH: config };

    // FINOPS_BENCH_JOBS=import (or export) measures one job alone: the export is bound by the sample app.
    const only = process.env.FINOPS_BENCH_JOBS;
    const figures: FinopsFigures[] = [];
    if (only !== "import") {
      const orders = Array.from({ length: rows }, (_, i) => ({ SALESORDERNUMBER: `SO-${i}`, TOTALAMOUNT: `${(i % 9973) + 0.25}`, ORDERINGCUSTOMERACCOUNTNUMBER: `C-${i % 5000}` }));
      fo.seedExport(EXPORT_ID, orders);
      const exported = await measure("export", jobs.export.name, rows, env, dir, fo, log);
      exported.exactlyOnce = stack.app.list("salesOrder").length === rows && fo.messages().filter((m) => m.direction === "export").every((m) => m.acked);
      figures.push(exported);
    }
    if (only === "export") return figures;

    for (let i = 0; i < rows; i++) stack.app.put("customerGroup", `cg-${i}`, { code: `G${i}`, name: `Customer group ${i}`, terms: `Net${(i % 4) * 15}` });
    const imported = await measure("import", jobs.import.name, rows, env, dir, fo, log);
    const arrived = fo.importedRows("Customer groups");
    imported.exactlyOnce = arrived.length === rows && new Set(arrived.map((r) => r.CUSTOMERGROUPID)).size === rows;
    return [...figures, imported];
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fo.close();
    await stack.stop();
  }
}

async function measure(kind: "export" | "import", job: string, rows: number, env: Record<string, string>, dir: string, fo: FinopsEmulator, log: (line: string) => void): Promise<FinopsFigures> {
  const rssFile = join(dir, `rss-${kind}`);
  const since = fo.requestLog().length;
  const started = Date.now();
  const code = await new Promise<number | null>((done, reject) => {
    const child = spawn(process.execPath, [...SYNC_NODE_FLAGS, "--import", "tsx", "--import", pathToFileURL(join(root, "test/bench/peakRss.ts")).href, "shared/runtime/cli.ts", "sync", "--finops", job, "--json"], {
      cwd: root, env: { ...process.env, ...env, [PEAK_RSS_FILE]: rssFile }, stdio: ["ignore", "ignore", "inherit"],
    });
    child.once("error", reject);
    child.once("close", done);
  });
  const seconds = (Date.now() - started) / 1000;
  if (code !== 0) throw new Error(`npm run sync -- --finops ${job} exited with ${code}`);
  const calls = callsOf(fo, since);
  const figures: FinopsFigures = {
    job: kind, rows, seconds, rowsPerSecond: rows / seconds, peakRssMb: Number(readFileSync(rssFile, "utf8")) / 1024, calls,
    totalCalls: Object.values(calls).reduce((a, b) => a + b, 0), exactlyOnce: false,
  };
  log(`F&O ${kind} of ${rows} rows: ${seconds.toFixed(1)} s (${figures.rowsPerSecond.toFixed(0)} rows/s), peak RSS ${figures.peakRssMb.toFixed(0)} MB, ${figures.totalCalls} F&O calls ${JSON.stringify(calls)}`);
  return figures;
}
