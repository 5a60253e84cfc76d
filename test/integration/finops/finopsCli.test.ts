import { afterEach, describe, expect, it } from "vitest";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { customerGroups, runCli, seedCustomerGroups, startFinopsStack, type FinopsStack } from "./finopsFixtures.js";

describe("npm run sync -- --finops <job>", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  it("runs one job once with F&O settings and no DYNAMICS_INSTANCE_URL, and prints its run summary", async () => {
    // Prepare: the default tables (the CLI has no table prefix); only F&O jobs in the mapping file.
    s = await startFinopsStack([customerGroups], {}, { tablePrefix: "" });
    seedCustomerGroups(s, 3);
    const env = { ...s.cliEnv(), DYNAMICS_INSTANCE_URL: "" };
    const job = s.names["customer-groups"];
    // Act
    const ran = await runCli(["sync", "--finops", job, "--json"], env);
    const unknown = await runCli(["sync", "--finops", "nope"], env);
    // Assess
    expect(ran.code, ran.stderr).toBe(0);
    const summary = JSON.parse(ran.stdout.trimEnd().split("\n").at(-1)!) as RunSummary;
    expect(summary).toMatchObject({ status: "succeeded", totals: { written: 3 }, mappings: [{ name: job, toDataverse: { created: 3 } }] });
    expect(s.fo.importedRows("Customer groups")).toHaveLength(3);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`unknown F&O job "nope"; the mapping file's finops jobs: ${job}`);
  }, 120_000);
});
