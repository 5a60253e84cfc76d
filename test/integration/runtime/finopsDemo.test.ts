/**
 * `npm start` on its embedded defaults also runs the Finance & Operations demo (examples/finops-demo):
 * the F&O emulator on the stack's token endpoint, an import job (the app's mentor groups into F&O's
 * "Vendor groups", a recurring CSV job) and an export job (F&O's vendor invoice headers, a data
 * package, into the app's invoices). Real parts: the CLI in a process of its own, Azurite from npm,
 * both emulators, the sample app, tokens through @azure/identity. Everything is looked at the way the
 * README tells a user to: `.local/stack.env`, the emulator's `/_emulator/` routes, the functions' routes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseEnvFile } from "../../../shared/runtime/environment.js";
import { freePort } from "../../support/azurite.js";
import { killStarted, marked, root, startCli, until, type Started } from "./stackProcess.js";

const demo = JSON.parse(readFileSync(join(root, "examples/finops-demo/sync.config.json"), "utf8")) as { finops: { name: string; activityId: string }[] };
const [importJob, exportJob] = demo.finops;

afterEach(() => killStarted());

function stackEnv(s: Started): Record<string, string> {
  return parseEnvFile(readFileSync(join(s.cwd, ".local/stack.env"), "utf8"));
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

type AppChanges = { records: { id: string; data: Record<string, unknown> }[] };
type Ack = { method: string; path: string; status: number };

describe("npm start: the Finance & Operations demo", { timeout: 180_000 }, () => {
  it("runs the import and the export job in the first sync, and again on a manual trigger for a newly seeded export", async () => {
    // Prepare: `npm start` on the demo mapping, in a working directory of its own
    const port = await freePort();
    const s = startCli({ PORT: String(port), SYNC_CONFIG_PATH: join(root, "sync.config.json") });
    await until(() => s.output().includes("syncing on schedule") || s.output().includes("could not start"), () => `start-up; output so far:\n${s.output()}`);
    const env = stackEnv(s);
    const fo = env.FINOPS_BASE_URL;
    const app = { authorization: `Bearer ${env.APP_API_KEY}` };
    const admin = { "x-functions-key": env.ADMIN_API_KEY };
    const api = `http://127.0.0.1:${port}/api`;

    // The first sync's work, as the emulator and the app hold it
    const imported = await getJson<Record<string, string>[]>(`${fo}/_emulator/imports?entity=${encodeURIComponent("Vendor groups")}`);
    const invoicesAtStart = await getJson<AppChanges>(`${env.APP_BASE_URL}/sync/invoice/changes`, app);
    const acksAtStart = (await getJson<Ack[]>(`${fo}/_emulator/log`)).filter((r) => r.path.startsWith("/api/connector/ack/"));
    const exportRunAt = async () => (await getJson<{ jobs: { name: string; lastRunAt: string | null }[] }>(`${api}/finops/jobs`, admin)).jobs.find((j) => j.name === exportJob.name)?.lastRunAt;
    const firstExportRunAt = await exportRunAt();

    // Act: a new export message in F&O, collected by the manual trigger
    const seeded = await fetch(`${fo}/_emulator/exports/${exportJob.activityId}`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify([{ INVOICENUMBER: "INV-2001", VENDORACCOUNT: "m-0002", INVOICEAMOUNT: "612.40", INVOICEDATE: "2026-04-30" }]),
    });
    const trigger = await fetch(`${api}/sync`, { method: "POST", headers: { ...admin, "content-type": "application/json" }, body: JSON.stringify({ finops: exportJob.name }) });
    // The job writes the records to the app, then acknowledges the message, then records its run:
    // the run is over when its health shows a new run, not when the fourth invoice shows.
    await until(async () => (await exportRunAt()) !== firstExportRunAt,
      () => `the manual run of ${exportJob.name} to finish; output:\n${s.output()}`);
    const invoices = await getJson<AppChanges>(`${env.APP_BASE_URL}/sync/invoice/changes`, app);
    const messages = await getJson<{ direction: string; acked?: boolean; dequeueCount?: number }[]>(`${fo}/_emulator/messages`);
    const acks = (await getJson<Ack[]>(`${fo}/_emulator/log`)).filter((r) => r.path.startsWith("/api/connector/ack/"));
    const jobs = await getJson<{ jobs: { name: string; lastRunStatus?: string }[] }>(`${api}/finops/jobs`, admin);

    // Assess
    expect(s.output()).toContain(`F&O emulator          ${fo}`);
    // The startup run sends the two groups, unless the job's own timer (second 15 of each minute) fired
    // as the stack started and its run sent them first; either way they reach F&O once (imported, below).
    expect(s.output()).toMatch(new RegExp(`F&O job ${importJob.name}: succeeded, [02] record\\(s\\) sent to F&O, 0 failed`));
    expect(s.output()).toContain(`F&O job ${exportJob.name}: succeeded, 3 record(s) written to the app, 0 failed`);
    expect(s.output()).toContain("first sync succeeded");
    expect(imported).toEqual([{ VENDORGROUPID: "g-north", DESCRIPTION: "North" }, { VENDORGROUPID: "g-south", DESCRIPTION: "South" }]);
    expect(invoicesAtStart.records.map((r) => r.data)).toEqual([
      { number: "INV-1001", mentorId: "m-0001", amount: 1402, invoiceDate: "2026-01-31" },
      { number: "INV-1002", mentorId: "m-0004", amount: 2000, invoiceDate: "2026-01-31" },
      { number: "INV-1003", mentorId: "m-0005", amount: 950.5, invoiceDate: "2026-02-28" },
    ]);
    expect(acksAtStart.map((a) => a.status)).toEqual([200]);
    expect(seeded.status).toBe(201);
    expect(trigger.status).toBe(202);
    expect(invoices.records.at(-1)!.data).toEqual({ number: "INV-2001", mentorId: "m-0002", amount: 612.4, invoiceDate: "2026-04-30" });
    // Each export message was dequeued once and acknowledged once.
    expect(messages.filter((m) => m.direction === "export").map((m) => [m.acked, m.dequeueCount])).toEqual([[true, 1], [true, 1]]);
    expect(acks.map((a) => a.status)).toEqual([200, 200]);
    expect(jobs.jobs.map((j) => [j.name, j.lastRunStatus])).toEqual([[importJob.name, "succeeded"], [exportJob.name, "succeeded"]]);

    process.kill(s.child.pid!, "SIGINT");
    expect(await s.exited).toBe(0);
    await until(() => marked(s.marker).length === 0, () => `children to exit: ${marked(s.marker).join(", ")}`, 15_000);
  });
});
