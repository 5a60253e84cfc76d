/**
 * The product's F&O jobs against real parts: Azurite (the global setup) with the real Table client,
 * the HTTPS token endpoint with @azure/identity (scope `<FINOPS_BASE_URL>/.default`), the F&O
 * emulator (test/emulators/finops) and the sample app. One clock for the product and the emulator:
 * the product's waits (Retry-After, status polls) move it, so F&O's batch advances as they pass.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { FinopsJob } from "../../../shared/config/finopsJob.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { finopsServices, type FinopsServices } from "../../../shared/finops/finopsServices.js";
import type { PollPolicy } from "../../../shared/finops/jobSupport.js";
import { runFinopsJob, type FinopsRunOptions } from "../../../shared/finops/runFinopsJob.js";
import type { Logger, RunRecord } from "../../../shared/ports.js";
import { startEmulatorStack, type EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import { createServices, type Services } from "../../../shared/runtime/services.js";
import { RecordingTelemetry } from "../../../shared/runtime/telemetry.js";
import { startFinopsEmulator, type FinopsEmulator, type FinopsEmulatorOptions } from "../../emulators/finops/index.js";
import { offsetClock } from "../../support/offsetClock.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";

export const IMPORT_ID = "6D31E09F-0249-459F-94F0-AAD9C2C47B64";
export const EXPORT_ID = "C03BB937-09ED-46DE-86EE-4520D7D7E373";
export const PACKAGE_EXPORT_ID = "8A1C9E22-7B34-4C1D-9E5F-0A1B2C3D4E5F";

type JobInput = Partial<FinopsJob> & Pick<FinopsJob, "name" | "direction">;

/** to-finops: the app's customer groups into F&O's "Customer groups" (a File job, CSV). */
export const customerGroups: JobInput = {
  name: "customer-groups", direction: "to-finops", api: "recurring", activityId: IMPORT_ID, entity: "Customer groups", format: "csv", company: "USMF",
  app: { entity: "customerGroup" },
  fields: [{ app: "code", finops: "CUSTOMERGROUPID", type: "string" }, { app: "name", finops: "DESCRIPTION", type: "string" }],
};

/** from-finops: F&O's sales order headers (a data package job) into the app's sales orders. */
export const salesOrders: JobInput = {
  name: "sales-orders", direction: "from-finops", api: "recurring", activityId: EXPORT_ID, format: "package", key: ["SALESORDERNUMBER"],
  app: { entity: "salesOrder" },
  fields: [{ app: "number", finops: "SALESORDERNUMBER", type: "string" }, { app: "total", finops: "TOTALAMOUNT", type: "decimal" }],
};

/** Fast polls for tests: the emulator's batch moves with the shared clock. */
export const testPoll: PollPolicy = { firstMs: 500, maxMs: 2_000, totalMs: 60_000 };

export interface FinopsStack {
  stack: EmulatorStack;
  fo: FinopsEmulator;
  services: Services;
  f: FinopsServices;
  clock: ReturnType<typeof offsetClock>;
  logs: { level: string; message: string; props?: Record<string, unknown> }[];
  /** The job names of this stack (unique per test: state is partitioned by job name). */
  names: Record<string, string>;
  env: Record<string, string>;
  run(job: string, options?: Partial<FinopsRunOptions>): Promise<RunRecord>;
  /** The settings for a CLI child: this stack's, with its jobs written to a mapping file of their own. */
  cliEnv(): Record<string, string>;
  stop(): Promise<void>;
}

export async function startFinopsStack(jobs: JobInput[], emulator: Partial<FinopsEmulatorOptions> = {}, options: { tablePrefix?: string } = {}): Promise<FinopsStack> {
  const stack = await startEmulatorStack({ storageConnectionString: azuriteConnectionString(), seed: false });
  const clock = offsetClock();
  let fo: FinopsEmulator | undefined;
  try {
    const tenantId = stack.env.DYNAMICS_TENANT_ID;
    fo = await startFinopsEmulator({
      tokenIssuer: { jwks: () => stack.token.jwks(), issuer: `${stack.token.authorityHost}/${tenantId}/v2.0`, authorityHost: stack.token.authorityHost, tenantId } as FinopsEmulatorOptions["tokenIssuer"],
      allowedAppIds: [stack.env.DYNAMICS_CLIENT_ID], batchDelayMs: 1_000, clock: { now: () => clock.now() }, ...emulator,
    });
    for (const j of jobs) {
      if (!j.activityId) continue;
      fo.defineJob({
        activityId: j.activityId, direction: j.direction === "to-finops" ? "import" : "export", entity: j.entity ?? "Sales order headers V2",
        format: j.format ?? "csv", keyFields: j.key ?? [j.fields![0].finops],
      });
    }
    const suffix = uniqueName("").slice(0, 6);
    const names = Object.fromEntries(jobs.map((j) => [j.name, `${j.name}-${suffix}`]));
    const env = { ...stack.env, FINOPS_BASE_URL: fo.url };
    const settings = loadSettings(env);
    const config = parseSyncConfig({ mappings: [], finops: jobs.map((j) => ({ ...j, name: names[j.name] })) }, "test config");
    const logs: FinopsStack["logs"] = [];
    const logger: Logger = {
      debug: (message, props) => logs.push({ level: "debug", message, props }),
      info: (message, props) => logs.push({ level: "info", message, props }),
      warn: (message, props) => logs.push({ level: "warn", message, props }),
      error: (message, props) => logs.push({ level: "error", message, props }),
    };
    // "" for the default tables, which a child process (the CLI) shares; job names keep tests apart.
    const tablePrefix = options.tablePrefix ?? uniqueName("t");
    const services = await createServices({ settings, config, queues: "memory", tablePrefix, logger, telemetry: new RecordingTelemetry(), clock, env });
    const f = await finopsServices(services, { tablePrefix });
    const emu = fo;
    const dir = mkdtempSync(join(tmpdir(), "finops-stack-"));
    return {
      stack, fo: emu, services, f, clock, logs, names, env,
      run: (job, options = {}) => runFinopsJob(f, names[job] ?? job, { trigger: "cli", poll: testPoll, ...options }),
      cliEnv() {
        const path = join(dir, "sync.config.json");
        writeFileSync(path, JSON.stringify({ mappings: [], finops: config.finops }));
        return { ...env, SYNC_CONFIG_PATH: path };
      },
      async stop() {
        await emu.close().catch(() => undefined);
        await stack.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await fo?.close().catch(() => undefined);
    await stack.stop();
    throw e;
  }
}

/** Customer group records in the app: `cg-<n>` with code `G<n>`. */
export function seedCustomerGroups(s: FinopsStack, count: number): void {
  for (let i = 1; i <= count; i++) s.stack.app.put("customerGroup", `cg-${i}`, { code: `G${i}`, name: `Group ${i}` });
}

/** Sales order header rows as F&O exports them. */
export function salesOrderRows(count: number, from = 1): Record<string, string>[] {
  return Array.from({ length: count }, (_, i) => ({ SALESORDERNUMBER: `SO-${from + i}`, TOTALAMOUNT: `${(from + i) * 10}.50` }));
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `npm run sync -- …` as a child process on this process's Node and environment (NODE_EXTRA_CA_CERTS
 * included), without the launcher, so that a SIGKILL reaches the process that runs the job.
 * `killWhen` is looked at every 20 ms (not only when the child writes): true kills it with SIGKILL.
 */
export function runCli(args: string[], env: Record<string, string>, killWhen?: (stderr: string) => boolean): Promise<CliRun> {
  const root = new URL("../../../", import.meta.url).pathname;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "shared/runtime/cli.ts", ...args], { cwd: root, env: { ...process.env, ...env } });
    const out = { stdout: "", stderr: "" };
    child.stdout.on("data", (d) => (out.stdout += d));
    child.stderr.on("data", (d) => (out.stderr += d));
    const watch = killWhen && setInterval(() => killWhen(out.stderr) && child.kill("SIGKILL"), 20);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (watch) clearInterval(watch);
      resolve({ code, signal, ...out });
    });
  });
}
