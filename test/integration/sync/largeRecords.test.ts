import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import type { PayloadStore } from "../../../shared/ports.js";
import { MAX_RECORD_JSON_BYTES } from "../../../shared/sync/writeOps.js";
import { demoConfig, startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, contactsByMentorId, mentorData } from "./faultFixtures.js";

/** The demo mapping plus a long text field sent to Dataverse only (the sample app's mentor has no such field to receive). */
function configWithBiography(): SyncConfigInput {
  const config = demoConfig();
  const mentors = config.mappings.find((m) => m.name === "mentors")!;
  mentors.fields = [...mentors.fields, { app: "biography", dataverse: "hlf_biography", type: "string", direction: "to-dataverse" }];
  return config;
}

/** Gives the emulator's contact a multi-line text column (Dataverse memo columns take up to 1,048,576 characters). */
function addBiographyColumn(h: SyncHarness, maxLength: number): void {
  const contact = h.stack.dataverse.schema.tables.get("contact")!;
  const column = { name: "hlf_biography", type: "memo" as const, maxLength };
  contact.columns.push(column);
  contact.columnMap.set(column.name, column);
}

/**
 * `length` random characters, two thirds of them CJK (3 bytes in UTF-8): about 2.3 bytes and 8 bits
 * of entropy a character, so gzip gains almost nothing. (About 20 KB of random ASCII would still
 * fit one message compressed: a create carries the text twice, in values and base, and gzip finds
 * the second copy within its 32 KB window. 20,000 of these characters, about 47 KB, do not fit.)
 */
function randomText(length: number): string {
  const ascii = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-æøå".split("");
  const cjk = Array.from({ length: 128 }, (_, i) => String.fromCharCode(0x4e00 + i * 37));
  const alphabet = [...ascii, ...cjk];
  const bytes = randomBytes(length);
  let text = "";
  for (let i = 0; i < length; i++) text += alphabet[bytes[i] % alphabet.length];
  return text;
}

function contactOf(h: SyncHarness, mentorId: string): Record<string, unknown> | undefined {
  return h.stack.dataverse.rows("contact").find((c) => c.hlf_mentorid === mentorId);
}

/** Records the ids of the payloads the engine stores out of band. */
function watchPayloads(h: SyncHarness): { ids: string[]; store: PayloadStore } {
  const store = h.services.state.payloads!;
  const ids: string[] = [];
  const put = store.putPayload.bind(store);
  vi.spyOn(store, "putPayload").mockImplementation(async (id, text) => {
    ids.push(id);
    await put(id, text);
  });
  return { ids, store };
}

describe("records too large for a queue message", () => {
  let h: SyncHarness;
  afterEach(async () => {
    vi.restoreAllMocks();
    await h?.stop();
  });

  it("carries a record that fits no queue message out of band: the run succeeds and the record lands whole", async () => {
    // Prepare: 5 ordinary new mentors and one with 20,000 random characters of biography.
    h = await startSyncHarness({ config: configWithBiography() });
    addBiographyColumn(h, 100_000);
    const added = addMentors(h, 5);
    const biography = randomText(20_000);
    const big = mentorData(50, { biography });
    h.stack.app.put("mentor", big.id, big.data);
    const payloads = watchPayloads(h);

    // Act
    const first = await h.cycle();
    const second = await h.cycle();

    // Assess: one payload went out of band and is gone once its message was done.
    expect(first.status).toBe("succeeded");
    expect(first.failures).toEqual([]);
    expect(contactOf(h, big.id)?.hlf_biography).toBe(biography);
    expect(contactOf(h, big.id)?.firstname).toBe("First50");
    const contacts = contactsByMentorId(h);
    for (const id of [...added, big.id]) expect(contacts.get(id)).toBe(1);
    expect(payloads.ids).toHaveLength(1);
    expect(await payloads.store.getPayload(payloads.ids[0])).toBeNull();
    // The next run does not stumble on the record: nothing left to write, nothing failed.
    expect(second.status).toBe("succeeded");
    expect(second.totals.failed).toBe(0);
  });

  it("writes nothing and counts nothing twice when an out-of-band message comes again after it was done", async () => {
    // Prepare: plan the mentors run by hand and apply its write messages once.
    h = await startSyncHarness({ config: configWithBiography() });
    addBiographyColumn(h, 100_000);
    const big = mentorData(50, { biography: randomText(20_000) });
    h.stack.app.put("mentor", big.id, big.data);
    await h.cycle({ mapping: "groups" });
    const { engine, queues, state } = h.services;
    const [run] = await engine.startRuns({ mapping: "mentors", mode: "delta", dryRun: false, trigger: "cli" });
    const [runMsg] = await queues.runs.receive(1, 60_000);
    await engine.handleRun(runMsg.body);
    const messages = [...await queues.dataverseWrites.receive(32, 60_000), ...await queues.appWrites.receive(32, 60_000)];
    const outOfBand = messages.filter((m) => m.body.payloadRef);
    expect(outOfBand).toHaveLength(1);
    for (const m of messages) await engine.handleWrite(m.body);
    const before = await state.getRun(run.runId);
    const writes = h.dataverseWrites().length;

    // Act: the host delivers the out-of-band message again (say its completion was lost).
    const again = await engine.handleWrite(outOfBand[0].body);

    // Assess
    expect(before).toMatchObject({ status: "succeeded", processed: before!.planned });
    expect(again.finished).toBe(0);
    expect(h.dataverseWrites()).toHaveLength(writes);
    const after = await state.getRun(run.runId);
    expect({ processed: after!.processed, toDataverse: after!.toDataverse }).toEqual({ processed: before!.processed, toDataverse: before!.toDataverse });
    expect(contactOf(h, big.id)?.hlf_biography).toBe(big.data.biography);
    expect(h.logs.some((l) => l.message.includes("out-of-band write already done"))).toBe(true);
  });

  it("fails alone, with Dataverse's code and message, an out-of-band record whose value is longer than the column allows", async () => {
    // Prepare: the column takes 10,000 characters; one of 6 new mentors has 20,000.
    h = await startSyncHarness({ config: configWithBiography() });
    addBiographyColumn(h, 10_000);
    const added = addMentors(h, 5);
    const big = mentorData(50, { biography: randomText(20_000) });
    h.stack.app.put("mentor", big.id, big.data);
    const payloads = watchPayloads(h);

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("completed_with_failures");
    const mentors = summary.mappings.find((m) => m.name === "mentors")!;
    expect(mentors.status).toBe("completed_with_failures");
    expect(mentors.toDataverse.failed).toBe(1);
    expect(summary.failures).toEqual([expect.objectContaining({ mapping: "mentors", direction: "toDataverse", id: big.id, code: "REJECTED" })]);
    expect(summary.failures[0].message).toContain("The length of the 'hlf_biography' attribute of the 'contact' entity exceeded the maximum allowed length of '10000'");
    const contacts = contactsByMentorId(h);
    for (const id of added) expect(contacts.get(id)).toBe(1);
    expect(contacts.has(big.id)).toBe(false);
    expect(payloads.ids).toHaveLength(1);
    expect(await payloads.store.getPayload(payloads.ids[0])).toBeNull();
  });

  it("fails a record beyond the absolute size limit with RECORD_TOO_LARGE before sending it, while its neighbours land", async () => {
    // Prepare: Dataverse would take the text (2,000,000 characters allowed), but the record is over 1 MiB of JSON.
    h = await startSyncHarness({ config: configWithBiography() });
    addBiographyColumn(h, 2_000_000);
    const added = addMentors(h, 5);
    const big = mentorData(50, { biography: randomBytes(600_000).toString("hex") });
    h.stack.app.put("mentor", big.id, big.data);
    const payloads = watchPayloads(h);

    // Act
    const summary = await h.cycle();

    // Assess: failed alone, nothing of it sent or stored out of band, and the dead letter is small.
    expect(summary.status).toBe("completed_with_failures");
    expect(summary.failures).toEqual([expect.objectContaining({ mapping: "mentors", direction: "toDataverse", id: big.id, code: "RECORD_TOO_LARGE" })]);
    expect(summary.failures[0].message).toContain(`at most ${MAX_RECORD_JSON_BYTES} bytes`);
    expect(summary.failures[0].message).toContain("biography 1200002 bytes");
    const contacts = contactsByMentorId(h);
    for (const id of added) expect(contacts.get(id)).toBe(1);
    expect(contacts.has(big.id)).toBe(false);
    expect(h.dataverseWrites().filter((w) => w.body.includes(big.id))).toEqual([]);
    expect(payloads.ids).toEqual([]);
    const dl = await h.services.state.getDeadLetter(`mentors|toDataverse|${big.id}`);
    expect(dl).toMatchObject({ code: "RECORD_TOO_LARGE", payload: { direction: "toDataverse", op: { appId: big.id, refresh: true } } });
    expect(JSON.stringify(dl).length).toBeLessThan(2_000);
  });
});
