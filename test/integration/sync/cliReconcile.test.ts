import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startEmulatorStack, type EmulatorStack } from "../../../shared/runtime/emulatorStack.js";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";
import { demoConfig } from "../../support/syncHarness.js";
import { OTHER_USER, contactIdOf } from "./syncFixtures.js";

const ROOT = new URL("../../../", import.meta.url).pathname;

/** `npm run sync -- …` as a child process (async: the emulators answer from this process). */
function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

describe("npm run sync -- --reconcile", () => {
  let stack: EmulatorStack | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    stack = undefined;
  });

  it("reports the divergence per mapping in the JSON summary and in the text summary, and repairs it", async () => {
    stack = await startEmulatorStack({ storageConnectionString: azuriteConnectionString() });
    dir = mkdtempSync(join(tmpdir(), "d365-sync-cli-"));
    // The CLI keeps its state in the shared Azurite's fixed tables, partitioned by mapping name: unique names.
    const config = demoConfig() as unknown as { mappings: { name: string; fields: { lookup?: { mapping: string } }[] }[] };
    const [groups, mentors] = [uniqueName("groups"), uniqueName("mentors")];
    for (const m of config.mappings) {
      m.name = m.name === "groups" ? groups : mentors;
      for (const f of m.fields) if (f.lookup) f.lookup.mapping = groups;
    }
    writeFileSync(join(dir, "sync.config.json"), JSON.stringify(config));
    const env = { ...stack.env, SYNC_CONFIG_PATH: join(dir, "sync.config.json") };
    expect((await runCli(["sync", "--json"], env)).code).toBe(0);
    stack.dataverse.changeTrackingOutage(true);
    stack.dataverse.ctx.ops.update("contact", contactIdOf(1), { hlf_score: 77 }, OTHER_USER);
    stack.dataverse.changeTrackingOutage(false);

    const json = await runCli(["sync", "--reconcile", "--mapping", mentors, "--json"], env);

    expect(json.code).toBe(0);
    const summary = JSON.parse(lastLine(json.stdout)) as RunSummary;
    expect(summary.mappings).toEqual([expect.objectContaining({ name: mentors, divergence: { records: 1, fields: { score: 1 } } })]);
    expect(summary.mappings[0].toApp.updated).toBe(1);
    expect(stack.app.get("mentor", "m-0001")!.data!.score).toBe(77);

    stack.dataverse.changeTrackingOutage(true);
    stack.dataverse.ctx.ops.update("contact", contactIdOf(2), { firstname: "Olava" }, OTHER_USER);
    stack.dataverse.changeTrackingOutage(false);

    const text = await runCli(["sync", "--reconcile", "--mapping", mentors], env);

    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`  ${mentors} (succeeded)\n    to Dataverse: `);
    expect(text.stdout).toContain("    diverged: 1 record(s) (firstName 1)\n");
    expect(stack.app.get("mentor", "m-0002")!.data!.firstName).toBe("Olava");
  });
});
