/**
 * What a run summary says about writes that did not happen: deletes the delete policy ignored, and
 * a dry run's planned writes (what it would write, under each side's own names).
 */
import { afterEach, describe, expect, it } from "vitest";
import { formatSummary } from "../../../shared/runtime/summary.js";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { OTHER_USER, configWithMentors, contactIdOf, editDataverse, mark, writesSince } from "./syncFixtures.js";

const mentorsOf = (s: Awaited<ReturnType<SyncHarness["cycle"]>>) => s.mappings.find((m) => m.name === "mentors")!;

describe("run summaries", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  describe('deletes under "ignore"', () => {
    it("counts a Dataverse delete as ignored toward the app, and writes nothing", async () => {
      // Prepare
      h = await startSyncHarness({ config: configWithMentors((m) => { m.deletes = "ignore"; }) });
      await h.cycle();
      h.stack.dataverse.ctx.ops.delete("contact", contactIdOf(1), OTHER_USER);
      const at = mark(h);
      // Act
      const { summary, plans } = await runCycle(h.services, { full: false, dryRun: false });
      // Assess
      expect(mentorsOf(summary).toApp).toEqual({ created: 0, updated: 0, deleted: 0, skipped: expect.any(Number), failed: 0, ignored: 1 });
      expect(summary.totals).toMatchObject({ written: 0, ignored: 1 });
      expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
      const text = await formatSummary(summary, plans, h.services.engine);
      expect(text).toMatch(/to the app: {3}created 0, updated 0, deleted 0, skipped \d+, failed 0, ignored 1\n/);
      expect(text.split("\n").at(-1)).toMatch(/^written 0, skipped \d+, conflicts 0, failed 0, ignored 1$/);
    });

    it("counts an app delete as ignored toward Dataverse", async () => {
      h = await startSyncHarness({ config: configWithMentors((m) => { m.deletes = "ignore"; }) });
      await h.cycle();
      h.stack.app.remove("mentor", "m-0004");

      const summary = await h.cycle();

      expect(mentorsOf(summary).toDataverse).toMatchObject({ deleted: 0, ignored: 1 });
      expect(await h.services.state.getLinkByApp("mentors", "m-0004")).toBeNull();
    });
  });

  describe("dry runs", () => {
    it("says what it would write, names Dataverse columns for Dataverse writes, and writes nothing", async () => {
      // Prepare
      h = await startSyncHarness({});
      await h.cycle();
      h.stack.app.patch("mentor", "m-0004", { score: 93, certificationStatus: "expired" });
      editDataverse(h, "contact", contactIdOf(2), { firstname: "Olav" });
      const at = mark(h);
      // Act
      const { summary, plans } = await runCycle(h.services, { full: false, dryRun: true });
      const text = await formatSummary(summary, plans, h.services.engine);
      // Assess
      expect(writesSince(h, at)).toEqual({ dataverse: [], app: [] });
      expect(summary).toMatchObject({ dryRun: true, totals: { written: 0, wouldWrite: 2 } });
      expect(text).toMatch(/^dry run /);
      expect(text).toContain('would update in Dataverse: m-0004 {"hlf_certificationstatus":100000001,"hlf_score":93}');
      expect(text).toContain('would update in app: m-0002 {"firstName":"Olav"}');
      expect(text).toContain("to Dataverse: would create 0, update 1, delete 0, skipped");
      expect(text.split("\n").at(-1)).toMatch(/^would write 2 \(dry run: nothing was written\), skipped \d+, conflicts 0, failed 0$/);
      expect(text).not.toMatch(/^written /m);
    });
  });
});
