import { afterEach, describe, expect, it } from "vitest";
import { compactReads } from "../../../shared/sync/compactRead.js";
import { wholeLinks } from "../../../shared/sync/linkIndex.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { contactByMentorId, editDataverse, linkReads, OTHER_USER } from "./syncFixtures.js";

/**
 * A complete read holds every link's digest (ids, hash, app version), not the links: the whole link,
 * base and all, is read only for the records it decides. The changes below are each of a kind the
 * digest must not hide: values changed in the feed or outside it, the app version alone, a record
 * gone on either side.
 */
const DEFAULT_ABOVE = compactReads.above;
const DEFAULT_WHOLE = wholeLinks.upTo;
let h: SyncHarness | undefined;
afterEach(async () => {
  compactReads.above = DEFAULT_ABOVE;
  wholeLinks.upTo = DEFAULT_WHOLE;
  await h?.stop();
  h = undefined;
});

/** The app ids whose whole links the spies saw read, in one mapping. */
function appIdsRead(spies: ReturnType<typeof linkReads>, mapping: string): string[] {
  const ids = [
    ...spies.byApp.mock.calls.filter((c) => c[0] === mapping).flatMap((c) => [...c[1]]),
    ...spies.one[0].mock.calls.filter((c) => c[0] === mapping).map((c) => c[1]),
  ];
  return [...new Set(ids)].sort();
}

describe("a complete read of a mapping that has links", () => {
  it("reads whole only the links of the records it decides, and every change still reaches the other side", async () => {
    h = await startSyncHarness();
    compactReads.above = 0; // the large-table path: rows kept as ids and hashes, leftovers read again
    wholeLinks.upTo = 0; // and links held as digests
    expect((await h.cycle()).status).toBe("succeeded");
    const app = h.stack.app;
    const contactOf = (mentor: string) => String(contactByMentorId(h!, mentor)!.contactid);
    const gone = contactOf("m-0008");
    editDataverse(h, "contact", contactOf("m-0005"), { lastname: "Changed-in-Dynamics" });
    app.patch("mentor", "m-0006", { score: 7 });
    app.remove("mentor", "m-0007");
    h.stack.dataverse.ctx.ops.delete("contact", gone, OTHER_USER);
    // Outside the app's feed (a restore): same version, other values. Only the values tell.
    const score9 = Number(app.get("mentor", "m-0009")!.data!.score);
    app.patchOutsideFeed("mentor", "m-0009", { score: score9 + 1 });
    // A new version with the values of the last sync: only the version tells (the link must follow it).
    const score10 = app.get("mentor", "m-0010")!.data!.score;
    app.patch("mentor", "m-0010", { score: 1234 });
    app.patch("mentor", "m-0010", { score: score10 });
    const version10 = app.get("mentor", "m-0010")!.version;
    expect((await h.services.state.getLinkByApp("mentors", "m-0010"))!.appVersion).not.toBe(version10);
    const spies = linkReads(h);

    const full = await h.cycle({ full: true });

    expect(full.status).toBe("succeeded");
    expect(spies.whole).not.toHaveBeenCalled();
    expect(appIdsRead(spies, "mentors")).toEqual(["m-0005", "m-0006", "m-0007", "m-0008", "m-0009", "m-0010"]);
    expect(app.get("mentor", "m-0005")!.data!.lastName).toBe("Changed-in-Dynamics");
    expect(h.stack.dataverse.row("contact", contactOf("m-0006"))).toMatchObject({ hlf_score: 7 });
    expect(h.stack.dataverse.row("contact", contactOf("m-0009"))).toMatchObject({ hlf_score: score9 + 1 });
    expect(h.stack.dataverse.row("contact", contactOf("m-0007"))).toMatchObject({ statecode: 1 });
    expect(app.get("mentor", "m-0008")!.data!.active).toBe(false);
    expect((await h.services.state.getLinkByApp("mentors", "m-0010"))!.appVersion).toBe(version10);
    const mentors = full.mappings.find((m) => m.name === "mentors")!;
    expect(mentors.toDataverse).toMatchObject({ updated: 2, deleted: 1 });
    expect(mentors.toApp).toMatchObject({ updated: 1, deleted: 1 });

    // Nothing left to do: a second full run writes nothing, and reads whole only the links of the two
    // records deactivated on one side and gone on the other (under `deactivate` their links stay).
    for (const spy of [spies.whole, ...spies.one, spies.byApp, spies.byDataverse]) spy.mockClear();
    const second = await h.cycle({ full: true });
    expect(second.totals.written).toBe(0);
    expect(appIdsRead(spies, "mentors")).toEqual(["m-0007", "m-0008"]);
  }, 120_000);
});
