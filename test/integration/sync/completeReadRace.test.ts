import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { wholeLinks } from "../../../shared/sync/linkIndex.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { OTHER_USER } from "./syncFixtures.js";

const DEFAULT_WHOLE = wholeLinks.upTo;
let h: SyncHarness | undefined;
afterEach(async () => {
  wholeLinks.upTo = DEFAULT_WHOLE;
  await h?.stop();
  h = undefined;
});

const NEW_CONTACT = {
  firstname: "Born", lastname: "Midread", emailaddress1: "born.midread@example.org", hlf_certificationstatus: 100000000,
  hlf_certifieduntil: "2027-03-15", hlf_score: 7, hlf_ispublic: true, hlf_hourlyrate: 300, "hlf_GroupId@odata.bind": "/hlf_mentorgroups(hlf_groupcode='g-north')",
};

/**
 * Runs `during` once, when the run has finished its complete read of Dataverse and turns to the
 * mapping's links: the worst moment for a record linked meanwhile, which that read did not see.
 */
function afterTheRead(h: SyncHarness, during: () => Promise<void>): void {
  const state = h.services.state;
  const list = state.listLinkDigests.bind(state);
  let done = false;
  vi.spyOn(state, "listLinkDigests").mockImplementation((mapping) => {
    if (done || mapping !== "mentors") return list(mapping);
    done = true;
    return (async function* () {
      await during();
      yield* list(mapping);
    })();
  });
}

// Both ways a complete read holds the links: whole (few links) and as digests (many).
for (const [held, upTo] of [["whole", DEFAULT_WHOLE], ["as digests", 0]] as const) {
  describe(`a complete read of Dataverse while a webhook links a new row (links held ${held})`, () => {
    beforeEach(() => {
      wholeLinks.upTo = upTo;
    });

    it("does not take the row it did not see for deleted: the app record the webhook made stays", async () => {
      h = await startSyncHarness();
      expect((await h.cycle()).status).toBe("succeeded");
      h.stack.dataverse.expireDeltaTokens();
      let born = "";
      let made = "";
      afterTheRead(h, async () => {
        // A person creates a contact; its webhook notice is handled at once (app record and link).
        born = h!.stack.dataverse.ctx.ops.create("contact", NEW_CONTACT, OTHER_USER);
        const event: RecordEventMessage = { mapping: "mentors", side: "dataverse", id: born, message: "Create", receivedAt: new Date().toISOString() };
        expect((await h!.services.engine.handleRecordEvents([event])).failed).toEqual([]);
        made = (await h!.services.state.getLinkByDataverse("mentors", born))!.appId;
      });

      const summary = await h.cycle();

      expect(summary.status).toBe("succeeded");
      const link = await h.services.state.getLinkByDataverse("mentors", born);
      expect(link?.appId).toBe(made);
      expect(h.stack.app.get("mentor", made)?.data?.lastName).toBe("Midread");
      expect(h.stack.dataverse.row("contact", born)).toBeDefined();
      const mentors = summary.mappings.find((m) => m.name === "mentors")!;
      expect(mentors.toApp.deleted).toBe(0);
      expect(mentors.toDataverse.deleted).toBe(0);
    }, 120_000);

    it("still follows a row that is gone when read by id: deleted after the webhook linked it, its app record is deactivated", async () => {
      h = await startSyncHarness();
      expect((await h.cycle()).status).toBe("succeeded");
      h.stack.dataverse.expireDeltaTokens();
      let made = "";
      afterTheRead(h, async () => {
        const born = h!.stack.dataverse.ctx.ops.create("contact", NEW_CONTACT, OTHER_USER);
        const event: RecordEventMessage = { mapping: "mentors", side: "dataverse", id: born, message: "Create", receivedAt: new Date().toISOString() };
        expect((await h!.services.engine.handleRecordEvents([event])).failed).toEqual([]);
        made = (await h!.services.state.getLinkByDataverse("mentors", born))!.appId;
        h!.stack.dataverse.ctx.ops.delete("contact", born, OTHER_USER);
      });

      const summary = await h.cycle();

      expect(summary.status).toBe("succeeded");
      // The mentors mapping deactivates (deletes: "deactivate"): the record stays, inactive.
      expect(h.stack.app.get("mentor", made)?.data?.active).toBe(false);
      expect(summary.mappings.find((m) => m.name === "mentors")!.toApp.deleted).toBe(1);
    }, 120_000);
  });
}
