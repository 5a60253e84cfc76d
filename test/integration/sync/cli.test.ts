import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import { startEmulatorStack, type EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { freePort } from "../../support/azurite.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { demoConfig } from "../../support/syncHarness.js";

const ROOT = new URL("../../../", import.meta.url).pathname;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run sync -- …` as a child process (async: the emulators answer from this process). */
function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["scripts/node22.mjs", "--import", "tsx", "shared/runtime/cli.ts", ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const lastLine = (text: string) => text.trimEnd().split("\n").at(-1)!;

/**
 * The demo mappings under names unique to this test: the CLI keeps its state in the fixed table
 * names of the shared Azurite, and state is partitioned by mapping name.
 */
function uniqueConfig(dir: string): { path: string; groups: string; mentors: string } {
  const config = demoConfig() as unknown as { mappings: { name: string; fields: { lookup?: { mapping: string } }[] }[] };
  const groups = uniqueName("groups");
  const mentors = uniqueName("mentors");
  for (const m of config.mappings) {
    m.name = m.name === "groups" ? groups : mentors;
    for (const f of m.fields) if (f.lookup) f.lookup.mapping = groups;
  }
  const path = join(dir, "sync.config.json");
  writeFileSync(path, JSON.stringify(config));
  return { path, groups, mentors };
}

describe("npm run sync (the CLI) against the emulator stack", () => {
  let stack: EmulatorStack | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    stack = undefined;
  });

  async function prepare(): Promise<{ env: Record<string, string>; mentors: string; groups: string }> {
    stack = await startEmulatorStack({ storageConnectionString: azuriteConnectionString() });
    dir = mkdtempSync(join(tmpdir(), "d365-sync-cli-"));
    const config = uniqueConfig(dir);
    return { env: { ...stack.env, SYNC_CONFIG_PATH: config.path }, mentors: config.mentors, groups: config.groups };
  }

  it("prints the run summary as the last line and exits 0 when every record synced", async () => {
    const { env, mentors, groups } = await prepare();

    const result = await runCli(["sync", "--json"], env);

    expect(result.code).toBe(0);
    const summary = JSON.parse(lastLine(result.stdout)) as RunSummary;
    expect(summary).toMatchObject({ runId: expect.any(String), status: "succeeded", totals: { written: 7, skipped: expect.any(Number), conflicts: 0, failed: 0 }, failures: [] });
    expect(summary.mappings.map((m) => m.name)).toEqual([groups, mentors]);
    const m = summary.mappings[1];
    expect(m.toDataverse).toEqual({ created: 5, updated: 0, deleted: 0, skipped: expect.any(Number), failed: 0 });
    expect(m.toApp).toMatchObject({ created: 2, updated: 0, deleted: 0, failed: 0 });
    expect(m.conflicts).toBe(0);
    expect(stack!.dataverse.rows("contact")).toHaveLength(10);
  });

  it("exits 2 and lists the dead-lettered record when a value cannot be mapped", async () => {
    const { env, mentors } = await prepare();
    const m4 = stack!.app.get("mentor", "m-0004")!.data!;
    stack!.app.put("mentor", "m-0004", { ...m4, certificationStatus: "suspended" });

    const result = await runCli(["sync", "--json"], env);

    expect(result.code).toBe(2);
    const summary = JSON.parse(lastLine(result.stdout)) as RunSummary;
    expect(summary.status).toBe("completed_with_failures");
    expect(summary.totals.failed).toBe(1);
    expect(summary.failures).toEqual([expect.objectContaining({ mapping: mentors, direction: "toDataverse", id: "m-0004", code: ErrorCodes.Unmappable })]);
    expect(summary.mappings[1].toDataverse.created).toBe(4);
  });

  it("exits 1 with a message on stderr when Dataverse cannot be reached", async () => {
    const { env, groups } = await prepare();
    const nowhere = `http://127.0.0.1:${await freePort()}`;

    const result = await runCli(["sync", "--json"], { ...env, DYNAMICS_INSTANCE_URL: nowhere });

    expect(result.code).toBe(1);
    expect(JSON.parse(lastLine(result.stdout)).status).toBe("failed");
    expect(result.stderr).toContain(`d365-sync: the run of mapping ${groups} failed: GET ${nowhere}/api/data/v9.2/WhoAmI failed: connection refused by ${nowhere.slice("http://".length)}; check DYNAMICS_INSTANCE_URL and that the service is up`);
    expect(stack!.app.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("runs without ADMIN_API_KEY, which only the HTTP routes need", async () => {
    const { env } = await prepare();

    // Empty counts as unset, and it also hides any ADMIN_API_KEY from local.settings.json or the stack file.
    const result = await runCli(["sync", "--json"], { ...env, ADMIN_API_KEY: "" });

    expect(result.stderr).not.toContain("ADMIN_API_KEY");
    expect(result.code).toBe(0);
    expect(JSON.parse(lastLine(result.stdout))).toMatchObject({ status: "succeeded", totals: { written: 7, failed: 0 } });
  });

  it("exits 1 naming the setting when a setting is malformed", async () => {
    const { env } = await prepare();

    const result = await runCli(["sync", "--json"], { ...env, APP_BASE_URL: "not a url" });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("APP_BASE_URL");
    expect(result.stderr).not.toContain(env.APP_API_KEY);
    expect(result.stderr).not.toContain(env.DYNAMICS_CLIENT_SECRET);
  });

  it("writes nothing on --dry-run and prints the planned writes", async () => {
    const { env } = await prepare();
    const dvBefore = stack!.dataverse.log.entries().length;

    const result = await runCli(["sync", "--dry-run"], env);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^dry run /m);
    expect(result.stdout).toMatch(/would create in Dataverse: m-0004 /);
    expect(result.stdout.match(/would create in app: [0-9a-f-]{36} /g)).toHaveLength(2);
    // Parents are not linked in a dry run; the children's lookups must still resolve.
    expect(lastLine(result.stdout)).toMatch(/^would write 7 \(dry run: nothing was written\), skipped \d+, conflicts 0, failed 0$/);
    expect(stack!.dataverse.log.entries().slice(dvBefore).filter((e) => e.method !== "GET" && !e.path.startsWith("$batch"))).toEqual([]);
    expect(stack!.app.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect(stack!.dataverse.rows("contact")).toHaveLength(5);
  });
});
