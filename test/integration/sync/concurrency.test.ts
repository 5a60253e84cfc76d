import { afterEach, describe, expect, it } from "vitest";
import { recordPoisonMessage } from "../../../shared/runtime/poison.js";
import { drainMemoryQueues } from "../../../shared/runtime/queuePump.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { contactIdOf, editDataverse } from "./syncFixtures.js";

/** Plans one run of `mapping`, lets `between` act, then performs the run's writes. */
async function runWithEditBetweenPlanAndWrite(h: SyncHarness, mapping: string, between: () => void) {
  const s = h.services;
  const [run] = await s.engine.startRuns({ mapping, mode: "delta", dryRun: false, trigger: "cli" });
  const [msg] = await s.queues.runs.receive(1, 60_000);
  await s.engine.handleRun(msg.body);
  await s.queues.runs.complete(msg);
  between();
  await drainMemoryQueues(s, (queue, m, error) => recordPoisonMessage(s, queue, m.body, error));
  return (await s.state.getRun(run.runId))!;
}

describe("a record that changes again between planning and writing", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  // Both sides changed different fields, so the plan writes each way, and the app write carries the
  // version read in the run as If-Match. The app's user then edits again before the writes go out.

  it("re-reads both sides after the app's 412 and finishes the run when nothing is left to write", async () => {
    h = await startSyncHarness();
    await h.cycle();
    editDataverse(h, "contact", contactIdOf(1), { firstname: "Ingeborg" });
    h.stack.app.patch("mentor", "m-0001", { score: 50 });

    const run = await runWithEditBetweenPlanAndWrite(h, "mentors", () => h.stack.app.patch("mentor", "m-0001", { firstName: "Ingeborg" }));

    const patches = h.stack.app.requests.filter((r) => r.method === "PATCH" && r.path.startsWith("/sync/mentor/m-0001"));
    expect(patches.map((r) => r.status)).toEqual([412]);
    expect(run.status).toBe("succeeded");
    expect(run.processed).toBe(run.planned);
    expect(h.stack.dataverse.row("contact", contactIdOf(1))).toMatchObject({ firstname: "Ingeborg", hlf_score: 50 });
  });

  it("writes the fresh state after a 412 and counts the planned write once", async () => {
    h = await startSyncHarness();
    await h.cycle();
    editDataverse(h, "contact", contactIdOf(2), { firstname: "Sigrid" });
    h.stack.app.patch("mentor", "m-0002", { score: 42 });

    const run = await runWithEditBetweenPlanAndWrite(h, "mentors", () => h.stack.app.patch("mentor", "m-0002", { email: "sigrid@example.org" }));

    expect(run.status).toBe("succeeded");
    expect(run.processed).toBe(run.planned);
    expect(h.stack.app.get("mentor", "m-0002")!.data).toMatchObject({ firstName: "Sigrid", score: 42, email: "sigrid@example.org" });
    expect(h.stack.dataverse.row("contact", contactIdOf(2))).toMatchObject({ firstname: "Sigrid", hlf_score: 42, emailaddress1: "sigrid@example.org" });
  });
});
