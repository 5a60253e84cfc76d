import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import type { RunSummary } from "../../../shared/runtime/summary.js";
import { startScriptedHarness, type PeerAnswer, type ScriptedHarness } from "../../support/scriptedPeers.js";
import { appMentorsByDataverseId, contactsByMentorId, duplicatesOf, mentorData, skippingClock } from "./faultFixtures.js";
import { OTHER_USER, configWithMentors, contact, contactByMentorId, contactIdOf, editDataverse } from "./syncFixtures.js";

/**
 * Issue #19 part A: the engine checks every answer before acting on it. Each case scripts a peer
 * (a loopback server in front of the real emulator) to answer wrongly, then checks the code, that
 * nothing wrong reached either side, that the run ended, and that the record syncs on a later run
 * once the peer behaves.
 */

const MINUTE = 60_000;

type Page = { records: Record<string, unknown>[]; nextCursor: string; hasMore: boolean };

/** The real change page with `change` applied to it. */
const rewritePage = (change: (page: Page) => void) => (real: { status: number; headers: Record<string, string>; body: string }): PeerAnswer => {
  const page = JSON.parse(real.body) as Page;
  change(page);
  return { status: real.status, body: page };
};

const failuresOf = (s: RunSummary, code: string) => s.failures.filter((f) => f.code === code);

describe("answers the engine does not trust (#19 part A)", () => {
  let s: ScriptedHarness;
  let clock: ReturnType<typeof skippingClock>;
  afterEach(async () => s?.stop());

  async function start(): Promise<void> {
    clock = skippingClock();
    s = await startScriptedHarness({ clock });
    await s.cycle();
  }

  const pending = () => s.services.state.listDeadLetters({ mapping: "mentors" });

  it("a live app record with data null fails alone as UNEXPECTED_RESPONSE, nulls out no column, and syncs once the app sends it whole", async () => {
    await start();
    s.h.stack.app.patch("mentor", "m-0001", { firstName: "Olav" });
    s.h.stack.app.patch("mentor", "m-0002", { firstName: "Siri" });
    const before = contact(s.h, contactIdOf(1));
    s.app.script({ method: "GET", path: "/sync/mentor/changes", rewrite: rewritePage((p) => {
      const r = p.records.find((x) => x.id === "m-0001")!;
      Object.assign(r, { version: "v99", deleted: false, data: null });
    }) });

    const first = await s.cycle();

    expect(first.status).toBe("completed_with_failures");
    const [failure] = failuresOf(first, ErrorCodes.UnexpectedResponse);
    expect(failure).toMatchObject({ mapping: "mentors", direction: "toDataverse", id: "m-0001" });
    expect(failure.message).toMatch(/mentor record \d+ of \d+ .*\(id "m-0001"\) is live but its data is null/);
    // Nothing of m-0001 reached Dataverse; its neighbour on the same page did.
    expect(contact(s.h, contactIdOf(1))).toEqual(before);
    expect(contact(s.h, contactIdOf(2)).firstname).toBe("Siri");
    expect((await pending()).map((p) => [p.recordId, p.code])).toEqual([["m-0001", ErrorCodes.UnexpectedResponse]]);

    await clock.sleep(10 * MINUTE); // past the pending back-off
    await s.cycle();

    expect(contact(s.h, contactIdOf(1)).firstname).toBe("Olav");
    expect(contact(s.h, contactIdOf(1)).lastname).toBe(before.lastname);
    expect(await pending()).toEqual([]);
  });

  it("a new app record with data null creates no contact, and is created once the app sends it whole", async () => {
    await start();
    const { id, data } = mentorData(1);
    s.h.stack.app.put("mentor", id, data);
    s.app.script({ method: "GET", path: "/sync/mentor/changes", rewrite: rewritePage((p) => { p.records.find((x) => x.id === id)!.data = null; }) });

    const first = await s.cycle();

    expect(failuresOf(first, ErrorCodes.UnexpectedResponse).map((f) => f.id)).toEqual([id]);
    expect(contactByMentorId(s.h, id)).toBeUndefined();

    await clock.sleep(10 * MINUTE); // past the pending back-off
    await s.cycle();

    expect(contactByMentorId(s.h, id)).toMatchObject({ firstname: data.firstName, lastname: data.lastName });
    expect(duplicatesOf(contactsByMentorId(s.h))).toEqual([]);
    expect(await pending()).toEqual([]);
  });

  it("a field absent from the app's data is no value given: it is not written as null", async () => {
    await start();
    s.h.stack.app.patch("mentor", "m-0001", { score: 17 });
    const before = contact(s.h, contactIdOf(1));
    s.app.script({ method: "GET", path: "/sync/mentor/changes", rewrite: rewritePage((p) => {
      const data = p.records.find((x) => x.id === "m-0001")!.data as Record<string, unknown>;
      delete data.firstName;
      delete data.lastName;
    }) });
    const at = s.dataverse.requests.length;

    expect((await s.cycle()).status).toBe("succeeded");

    expect(contact(s.h, contactIdOf(1))).toMatchObject({ hlf_score: 17, firstname: before.firstname, lastname: before.lastname });
    const bodies = s.dataverse.requests.slice(at).filter((r) => r.method !== "GET").map((r) => r.body).join("\n");
    expect(bodies).not.toMatch(/"firstname"|"lastname"/);
  });

  it("an app record without an id fails by its position, and the rest of its page syncs", async () => {
    await start();
    s.h.stack.app.patch("mentor", "m-0002", { firstName: "Siri" });
    s.app.script({ method: "GET", path: "/sync/mentor/changes", rewrite: rewritePage((p) => {
      p.records.push({ version: "1", deleted: false, data: { firstName: "Nobody" } });
    }) });

    const first = await s.cycle();

    const [failure] = failuresOf(first, ErrorCodes.UnexpectedResponse);
    expect(failure.message).toMatch(/mentor record (\d+) of \1 on the page after cursor "[^"]+" has no id \(missing\)/);
    expect(contact(s.h, contactIdOf(2)).firstname).toBe("Siri");
    expect(s.h.stack.dataverse.rows("contact").filter((r) => r.firstname === "Nobody")).toEqual([]);
  });

  it("the app's POST answering 201 with an empty id writes no key to Dataverse; the record is linked once the app answers whole", async () => {
    await start();
    const id = s.h.stack.dataverse.insert("contact", { firstname: "Nora", lastname: "Vik", hlf_certificationstatus: 100000002, hlf_score: 3, hlf_ispublic: false }, OTHER_USER);
    s.app.script({ method: "POST", path: "/sync/mentor", rewrite: (real) => ({ status: real.status, body: { ...JSON.parse(real.body), id: "" } }) });
    const at = s.dataverse.requests.length;

    const first = await s.cycle();

    const [failure] = failuresOf(first, ErrorCodes.UnexpectedResponse);
    expect(failure).toMatchObject({ direction: "toApp", id });
    expect(failure.message).toMatch(/POST of a new mentor record for Dataverse row .* with id ""/);
    expect(s.dataverse.requests.slice(at).filter((r) => r.method === "PATCH" || r.path.includes("$batch") || r.path.includes("Multiple")).map((r) => r.body).join()).not.toContain("hlf_mentorid");
    expect(contact(s.h, id).hlf_mentorid).toBeNull();

    await clock.sleep(10 * MINUTE); // past the pending back-off
    await s.cycle();

    const created = s.h.stack.app.list("mentor").filter((r) => r.dataverseId === id);
    expect(created).toHaveLength(1);
    expect(contact(s.h, id).hlf_mentorid).toBe(created[0].id);
    expect(duplicatesOf(appMentorsByDataverseId(s.h))).toEqual([]);
    expect(await pending()).toEqual([]);
  });

  it("Dataverse answering its writes 200 with an error body counts nothing as done: the records stay pending and are created on a later run", async () => {
    await start();
    const ids = [1, 2, 3].map((n) => mentorData(n)).map(({ id, data }) => (s.h.stack.app.put("mentor", id, data), id));
    const errorBody = { status: 200, body: { error: { code: "0x80040265", message: "Something went wrong upstream" } } };
    for (const path of ["CreateMultiple", "UpsertMultiple", "$batch"]) s.dataverse.script({ method: "POST", path, count: Infinity, answer: errorBody });

    const first = await s.cycle();

    expect(first.mappings.find((m) => m.name === "mentors")!.toDataverse.created).toBe(0);
    expect(failuresOf(first, ErrorCodes.UnexpectedResponse).map((f) => f.id).sort()).toEqual(ids);
    // The bulk call, its resend by id and the $batch fallback each got the error body: none counted as done.
    expect(s.dataverse.requests.filter((r) => r.scripted).map((r) => r.path.split(/[./]/).pop())).toEqual(["CreateMultiple", "UpsertMultiple", "$batch"]);
    for (const id of ids) expect(contactByMentorId(s.h, id)).toBeUndefined();
    expect((await pending()).map((p) => p.code)).toEqual(ids.map(() => ErrorCodes.UnexpectedResponse));

    s.dataverse.clear();
    await clock.sleep(10 * MINUTE); // past the pending back-off
    await s.cycle();

    for (const id of ids) expect(contactByMentorId(s.h, id)).toBeDefined();
    expect(duplicatesOf(contactsByMentorId(s.h))).toEqual([]);
    expect(await pending()).toEqual([]);
  });

  it("a CreateMultiple answer with a short Ids array is not taken as done: the records are written again by id, once each", async () => {
    await start();
    const ids = [1, 2, 3].map((n) => mentorData(n)).map(({ id, data }) => (s.h.stack.app.put("mentor", id, data), id));
    s.dataverse.script({ method: "POST", path: "CreateMultiple", rewrite: (real) => {
      const body = JSON.parse(real.body) as { Ids: string[] };
      return { status: real.status, body: { ...body, Ids: body.Ids.slice(0, 1) } };
    } });
    const at = s.dataverse.requests.length;

    const first = await s.cycle();

    expect(first.status).toBe("succeeded");
    const posts = s.dataverse.requests.slice(at).filter((r) => r.method === "POST" && r.path.includes("contacts/")).map((r) => r.path.split(".").pop());
    expect(posts).toEqual(["CreateMultiple", "UpsertMultiple"]);
    for (const id of ids) expect(contactsByMentorId(s.h).get(id)).toBe(1);
  });

  it("a $batch part answered 200 with an error body fails that record; the contact is updated on a later run", async () => {
    await start();
    s.h.stack.app.patch("mentor", "m-0001", { firstName: "Olav" });
    const before = contact(s.h, contactIdOf(1));
    // Conditional updates travel as $batch parts: every part answers 200 with an error body.
    s.dataverse.script({ method: "POST", path: "$batch", answer: ({ body }) => batchOf(body, 200, JSON.stringify({ error: { code: "", message: "not done" } })) });

    const first = await s.cycle();

    expect(failuresOf(first, ErrorCodes.UnexpectedResponse).map((f) => f.id)).toEqual(["m-0001"]);
    expect(contact(s.h, contactIdOf(1))).toEqual(before);

    await clock.sleep(10 * MINUTE); // past the pending back-off
    await s.cycle();

    expect(contact(s.h, contactIdOf(1)).firstname).toBe("Olav");
    expect(await pending()).toEqual([]);
  });

  it("a Dataverse row whose JSON lacks a column is no value given: the app gets no null for it", async () => {
    await start();
    editDataverse(s.h, "contact", contactIdOf(1), { hlf_score: 66 });
    s.dataverse.script({ method: "GET", path: "$deltatoken", rewrite: (real) => {
      const body = JSON.parse(real.body) as { value: Record<string, unknown>[] };
      for (const row of body.value) delete row.firstname;
      return { status: real.status, body };
    } });

    expect((await s.cycle({ mapping: "mentors" })).status).toBe("succeeded");

    const record = s.h.stack.app.get("mentor", "m-0001")!;
    expect(record.data).toMatchObject({ score: 66, firstName: expect.any(String) });
    expect(s.app.requests.filter((r) => r.method === "PATCH").map((r) => r.body).join()).not.toContain("firstName");
  });
});

describe("item 4: an unlinked row last written by our own user meets an app record with the same key (#19 part A)", () => {
  let s: ScriptedHarness;
  afterEach(async () => s?.stop());

  it.each(["dataverse-wins", "newest-wins"])("under %s the app gets the row's values, not nulls, and an older app value does not overwrite the row", async (strategy) => {
    let dvAhead = 0;
    s = await startScriptedHarness({ config: configWithMentors((m) => { m.conflict = { strategy }; }), dataverse: { now: () => Date.now() + dvAhead } });
    await s.cycle();
    const self = s.h.stack.dataverse.userIdFor(s.h.stack.env.DYNAMICS_CLIENT_ID);
    s.h.stack.app.put("mentor", "m-2001", mentorData(1, { firstName: "Older" }).data);
    dvAhead = 3_000; // the row is written after the app record (Dataverse has whole seconds)
    const id = s.h.stack.dataverse.insert("contact", { hlf_mentorid: "m-2001", firstname: "Dv", lastname: "Row", hlf_certificationstatus: 100000000, hlf_score: 5, hlf_ispublic: true }, self);
    const at = s.app.requests.length;

    expect((await s.cycle()).status).toBe("succeeded");

    expect(contact(s.h, id)).toMatchObject({ firstname: "Dv", lastname: "Row", hlf_score: 5 });
    const patches = s.app.requests.slice(at).filter((r) => r.method === "PATCH").map((r) => JSON.parse(r.body) as { data: Record<string, unknown> });
    expect(patches).toHaveLength(1);
    expect(patches[0].data).toMatchObject({ firstName: "Dv", lastName: "Row", score: 5 });
    // Every column the row holds a value in arrives as that value: nulls only where the row is null too.
    expect(s.h.stack.app.get("mentor", "m-2001")!.data).toMatchObject({ firstName: "Dv", lastName: "Row", score: 5, certificationStatus: "active", isPublic: true });
  });
});

/** A `$batch` answer with one part per request of `requestBody`, each with `status` and `body`. */
function batchOf(requestBody: string, status: number, body: string): PeerAnswer {
  const requests = requestBody.split("\r\n").filter((l) => / HTTP\/1\.1$/.test(l)).length;
  const part = `--batchresponse_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 ${status} OK\r\nContent-Type: application/json\r\n\r\n${body}\r\n`;
  return { status: 200, headers: { "content-type": "multipart/mixed; boundary=batchresponse_x" }, body: `${part.repeat(requests)}--batchresponse_x--\r\n` };
}
