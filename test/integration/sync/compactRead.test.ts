import { afterEach, describe, expect, it } from "vitest";
import type { ChangePage } from "../../../shared/ports.js";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { compactReads } from "../../../shared/sync/compactRead.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { appMentorsByDataverseId, contactsByMentorId, duplicatesOf, mentorData } from "./faultFixtures.js";
import { OTHER_USER, contactByMentorId, contactIdOf, editDataverse } from "./syncFixtures.js";

/**
 * The compact path of complete Dataverse reads (compactPlan.ts), run on the demo tables by lowering
 * its threshold to 0: each scenario runs twice, as today (rows held) and compact (ids, hashes and
 * keys held, the table read a second time), and must make the same writes and leave the same links.
 */
const DEFAULT_ABOVE = compactReads.above;

interface Outcome {
  summary: RunSummary;
  writes: string[];
  links: string[];
  /** Complete (not delta) reads of the contacts table during the act. */
  fullContactReads: number;
}

interface Scenario {
  name: string;
  /** Before the act, always with rows held (the same state for both variants). */
  prepare(h: SyncHarness): Promise<void>;
  act(h: SyncHarness): Promise<RunSummary>;
}

/** A contact a person creates in Dynamics (no app id yet), valid for the app. */
const bornInDynamics = (name: string) => ({
  firstname: "Born", lastname: name, emailaddress1: `${name.toLowerCase()}@example.org`,
  hlf_certificationstatus: 100000000, hlf_score: 50, hlf_ispublic: true, hlf_hourlyrate: 400,
});

const person = (h: SyncHarness, mentorId: string, body: Record<string, unknown>) => editDataverse(h, "contact", String(contactByMentorId(h, mentorId)!.contactid), body);

/** Counts complete reads of a table, and runs `before` when the nth one starts. */
function watchFullReads(h: SyncHarness, entitySet: string, before?: { nth: number; run: () => void }): { count: number } {
  const seen = { count: 0 };
  const dv = h.services.dataverse;
  const readChanges = dv.readChanges.bind(dv);
  dv.readChanges = (set, options): AsyncIterable<ChangePage> => {
    if (set === entitySet && !options.deltaLink) {
      seen.count += 1;
      if (before?.nth === seen.count) before.run();
    }
    return readChanges(set, options);
  };
  return seen;
}

async function outcomeOf(s: Scenario, above: number): Promise<Outcome> {
  const h = await startSyncHarness();
  try {
    await s.prepare(h);
    const reads = watchFullReads(h, "contacts");
    const dvAt = h.stack.dataverse.log.entries().length;
    const appAt = h.stack.app.requests.length;
    compactReads.above = above;
    const summary = await s.act(h);
    compactReads.above = DEFAULT_ABOVE;
    // Batch boundaries are random and the emulators' ports differ from one harness to the next.
    const stable = (text: string) => text.replace(/(batch|changeset)_[0-9a-f-]+/g, "$1_").replace(/127\.0\.0\.1:\d+/g, "host");
    const writes = [
      ...h.dataverseWrites(dvAt).map((w) => stable(`dv ${w.method} ${w.path} ${w.body}`)),
      ...h.appWrites(appAt).map((w) => `app ${w.method} ${w.path} ${JSON.stringify(w.body)}`),
    ].sort();
    const links: string[] = [];
    for (const mapping of ["groups", "mentors"]) for await (const l of h.services.state.listLinks(mapping)) links.push(`${mapping} ${l.appId} ${l.dataverseId} ${l.hash}`);
    return { summary, writes, links: links.sort(), fullContactReads: reads.count };
  } finally {
    compactReads.above = DEFAULT_ABOVE;
    await h.stop();
  }
}

const scenarios: Scenario[] = [
  {
    name: "the first load (match by key, creates both ways)",
    prepare: async () => {},
    act: (h) => h.cycle(),
  },
  {
    name: "an expired delta token (app delta, deletes in the gap)",
    prepare: async (h) => {
      await h.cycle();
      h.stack.dataverse.expireDeltaTokens();
      person(h, "m-0001", { firstname: "Ingrid-Marie" });
      h.stack.dataverse.ctx.ops.delete("contact", String(contactByMentorId(h, "m-0002")!.contactid), OTHER_USER);
      h.stack.app.patch("mentor", "m-0003", { score: 42 });
      h.stack.app.remove("mentor", "m-0004");
      const fresh = mentorData(1);
      h.stack.app.put("mentor", fresh.id, fresh.data);
    },
    act: (h) => h.cycle(),
  },
  {
    name: "a full run (both sides complete: changes, a record gone from the app, a row gone from Dataverse)",
    prepare: async (h) => {
      await h.cycle();
      person(h, "m-0005", { lastname: "Changed-in-Dynamics" });
      h.stack.app.patch("mentor", "m-0006", { score: 7 });
      h.stack.app.remove("mentor", "m-0007");
      h.stack.dataverse.ctx.ops.delete("contact", String(contactByMentorId(h, "m-0008")!.contactid), OTHER_USER);
      // A fixed id: both variants' writes name it.
      h.stack.dataverse.insert("contact", { ...bornInDynamics("InDynamics"), contactid: "c0a80001-0000-4000-8000-0000000000aa" }, OTHER_USER);
    },
    act: (h) => h.cycle({ full: true }),
  },
];

describe("a complete Dataverse read above the compact threshold", () => {
  let h: SyncHarness | undefined;
  afterEach(async () => {
    compactReads.above = DEFAULT_ABOVE;
    compactReads.keyHash = undefined;
    await h?.stop();
    h = undefined;
  });

  for (const s of scenarios) {
    it(`makes the same writes and links as rows held: ${s.name}`, async () => {
      const held = await outcomeOf(s, DEFAULT_ABOVE);
      const compact = await outcomeOf(s, 0);

      expect(held.fullContactReads).toBe(1);
      expect(compact.fullContactReads).toBe(2); // the compact path ran: the leftovers were read again
      expect(held.writes.length).toBeGreaterThan(0);
      expect(compact.writes).toEqual(held.writes);
      expect(compact.links).toEqual(held.links);
      expect(compact.summary.status).toBe(held.summary.status);
      expect(compact.summary.failures).toEqual(held.summary.failures);
      for (const side of ["toDataverse", "toApp"] as const) {
        const counts = (o: Outcome) => o.summary.mappings.map((m) => ({ ...m[side], skipped: undefined }));
        expect(counts(compact)).toEqual(counts(held));
      }
    });
  }

  it("loads rows made in Dynamics into an empty app exactly once, with the app id written back", async () => {
    h = await startSyncHarness({ seed: false });
    const ids = Array.from({ length: 120 }, (_, i) => h!.stack.dataverse.insert("contact", bornInDynamics(`Row${i}`), OTHER_USER));
    compactReads.above = 0;

    const summary = await h.cycle();

    expect(summary.failures).toEqual([]);
    expect(summary.status).toBe("succeeded");
    expect(duplicatesOf(appMentorsByDataverseId(h))).toEqual([]);
    const mentors = new Map(h.stack.app.list("mentor").map((r) => [r.dataverseId, r.id]));
    for (const id of ids) expect(h.stack.dataverse.row("contact", id)?.hlf_mentorid).toBe(mentors.get(id));
    expect(mentors.size).toBe(ids.length);
    expect((await h.cycle()).totals.written).toBe(0);
  });

  it("decides a row that changed between the two reads with its new values, and leaves a row created meanwhile to the next delta", async () => {
    h = await startSyncHarness();
    await h.cycle();
    h.stack.dataverse.expireDeltaTokens();
    const harness = h;
    let born = "";
    watchFullReads(h, "contacts", {
      nth: 2, // the leftover pass begins
      run: () => {
        person(harness, "m-0005", { firstname: "Changed-Between-Reads" });
        born = harness.stack.dataverse.insert("contact", bornInDynamics("Meanwhile"), OTHER_USER);
      },
    });
    compactReads.above = 0;

    const summary = await h.cycle({ mapping: "mentors" });

    expect(summary.status).toBe("succeeded");
    expect(h.stack.app.get("mentor", "m-0005")!.data!.firstName).toBe("Changed-Between-Reads");
    expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === born)).toEqual([]);
    // The next run's delta starts at the first read: it brings the new row, and the change again (already synced).
    const next = await h.cycle({ mapping: "mentors" });
    const mentors = next.mappings.find((m) => m.name === "mentors")!;
    expect(next.failures).toEqual([]);
    expect(mentors.toApp).toMatchObject({ created: 1, updated: 0, failed: 0 });
    expect(h.stack.app.list("mentor").filter((r) => r.dataverseId === born)).toHaveLength(1);
    expect(duplicatesOf(appMentorsByDataverseId(h))).toEqual([]);
  });

  it("does not pair an app record with a row whose key only shares its hash", async () => {
    h = await startSyncHarness();
    // m-0004 has no row in Dataverse; its key now hashes like m-0003's, whose app record comes later in the feed.
    compactReads.keyHash = (key) => (key === JSON.stringify(["m-0004"]) ? JSON.stringify(["m-0003"]) : key);
    h.stack.app.patch("mentor", "m-0003", { score: 77 });
    compactReads.above = 0;

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    const m3 = await h.services.state.getLinkByApp("mentors", "m-0003");
    const m4 = await h.services.state.getLinkByApp("mentors", "m-0004");
    expect(m3?.dataverseId).toBe(contactIdOf(3));
    expect(m4?.dataverseId).toBeDefined();
    expect(m4?.dataverseId).not.toBe(contactIdOf(3));
    expect(h.stack.dataverse.row("contact", contactIdOf(3))).toMatchObject({ hlf_mentorid: "m-0003", hlf_score: 77 });
    expect(contactByMentorId(h, "m-0004")?.contactid).toBe(m4?.dataverseId);
    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
    expect(duplicatesOf(appMentorsByDataverseId(h))).toEqual([]);
  });

  it("loses nothing when planning dies between the app pass and the second read: the cursors stay, the next run finishes it", async () => {
    h = await startSyncHarness();
    await h.cycle();
    h.stack.dataverse.expireDeltaTokens();
    h.stack.app.patch("mentor", "m-0001", { score: 11 }); // decided in the app pass
    person(h, "m-0002", { firstname: "Decided-In-Leftovers" }); // decided in the second read
    const cursorsBefore = { dv: await h.services.state.getCursor("mentors", "dataverse"), app: await h.services.state.getCursor("mentors", "app") };
    const dv = h.services.dataverse;
    const readChanges = dv.readChanges.bind(dv);
    let full = 0;
    dv.readChanges = (set, options) => {
      if (set === "contacts" && !options.deltaLink && ++full === 2) throw new Error("the process died here");
      return readChanges(set, options);
    };
    compactReads.above = 0;

    const failed = await h.cycle({ mapping: "mentors" });

    expect(failed.status).toBe("failed");
    expect((await h.services.state.getCursor("mentors", "dataverse"))?.value).toBe(cursorsBefore.dv?.value);
    expect((await h.services.state.getCursor("mentors", "app"))?.value).toBe(cursorsBefore.app?.value);
    dv.readChanges = readChanges;

    const again = await h.cycle({ mapping: "mentors" });

    expect(again.status).toBe("succeeded");
    expect(h.stack.dataverse.row("contact", contactIdOf(1))).toMatchObject({ hlf_score: 11 });
    expect(h.stack.app.get("mentor", "m-0002")!.data!.firstName).toBe("Decided-In-Leftovers");
    expect(duplicatesOf(contactsByMentorId(h))).toEqual([]);
    expect(duplicatesOf(appMentorsByDataverseId(h))).toEqual([]);
    const quiet = await h.cycle({ mapping: "mentors" });
    expect(quiet.totals.written).toBe(0);
  });
});
