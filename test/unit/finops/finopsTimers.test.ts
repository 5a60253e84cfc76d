import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "finops-timers-"));
let scheduledJobsFromConfig: (path?: string) => { name: string; schedule: string }[];
const before = process.env.D365_SYNC_LOCAL_RUNNER;

beforeAll(async () => {
  // Registration goes to the local runner's list, not the Functions host (there is none here).
  process.env.D365_SYNC_LOCAL_RUNNER = "1";
  ({ scheduledJobsFromConfig } = await import("../../../functions/finopsJobs.js"));
});
afterAll(() => {
  if (before === undefined) delete process.env.D365_SYNC_LOCAL_RUNNER;
  else process.env.D365_SYNC_LOCAL_RUNNER = before;
  rmSync(dir, { recursive: true, force: true });
});

describe("a timer per F&O job with a schedule of its own", () => {
  it("reads the jobs' schedules from the mapping file as the host wants them (six fields); jobs without one ride the scheduled sync", () => {
    // Prepare
    const path = join(dir, "sync.config.json");
    writeFileSync(path, JSON.stringify({ mappings: [], finops: [{ name: "a", schedule: "*/15 * * * *" }, { name: "b" }, { name: "c", schedule: "0 0 6 * * *" }] }));
    // Act
    const jobs = scheduledJobsFromConfig(path);
    // Assess
    expect(jobs).toEqual([{ name: "a", schedule: "0 */15 * * * *" }, { name: "c", schedule: "0 0 6 * * *" }]);
  });

  it("registers none when the mapping file cannot be read (start-up then names the problem)", () => {
    expect(scheduledJobsFromConfig(join(dir, "missing.json"))).toEqual([]);
  });
});
