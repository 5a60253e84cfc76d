import { afterEach, describe, expect, it } from "vitest";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, appMentorsByDataverseId, contactsByMentorId, duplicatesOf, mentorData } from "./faultFixtures.js";

/** The two seed contacts without hlf_mentorid: they began in Dataverse and are created in the app. */
const EMIL = "c0a80001-0000-4000-8000-000000000004";
const NORA = "c0a80001-0000-4000-8000-000000000005";

describe("records a target rejects", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("dead-letters the record Dataverse rejects with its message while the rest of the chunk lands through $batch", async () => {
    // Prepare: one of 12 new mentors has a first name over contact.firstname's 50 characters.
    h = await startSyncHarness();
    const added = addMentors(h, 11);
    const bad = mentorData(50, { firstName: "X".repeat(60) });
    h.stack.app.put("mentor", bad.id, bad.data);

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("completed_with_failures");
    const mentors = summary.mappings.find((m) => m.name === "mentors")!;
    expect(mentors.status).toBe("completed_with_failures");
    expect(mentors.toDataverse.failed).toBe(1);
    expect(summary.failures).toEqual([expect.objectContaining({ mapping: "mentors", direction: "toDataverse", id: bad.id, code: "REJECTED" })]);
    expect(summary.failures[0].message).toContain("exceeded the maximum allowed length of '50'");
    const dl = await h.services.state.getDeadLetter(`mentors|toDataverse|${bad.id}`);
    expect(dl).toMatchObject({ code: "REJECTED", recordId: bad.id, payload: { direction: "toDataverse" } });
    expect(dl!.message).toContain("firstname");
    const contacts = contactsByMentorId(h);
    for (const id of added) expect(contacts.get(id)).toBe(1);
    expect(contacts.has(bad.id)).toBe(false);
    // The bulk message failed as a whole, then the same records went again as independent $batch parts.
    const log = h.stack.dataverse.log.entries();
    const bulk = log.filter((e) => e.path.endsWith("contacts/Microsoft.Dynamics.CRM.CreateMultiple"));
    expect(bulk.map((e) => e.status)).toEqual([400]);
    const batchParts = log.filter((e) => e.inBatch && e.method === "POST" && e.path.endsWith("/contacts"));
    // 11 + the bad one + the app's seed records m-0004..m-0008, all in one write message.
    expect(mentors.toDataverse.created).toBe(16);
    expect(batchParts).toHaveLength(17);
    expect(batchParts.filter((e) => e.status >= 400)).toHaveLength(1);
  });

  it("retries an app 503 with Retry-After and a dropped connection, and lands both records once", async () => {
    // Prepare: the first create in the app answers 503 (Retry-After: 1), the next one loses its connection.
    h = await startSyncHarness();
    h.stack.app.failNext({ method: "POST", path: "/sync/mentor", status: 503, headers: { "retry-after": "1" } });
    h.stack.app.failNext({ method: "POST", path: "/sync/mentor", dropConnection: true });

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("succeeded");
    expect(summary.mappings.find((m) => m.name === "mentors")!.toApp.created).toBe(2);
    const posts = h.stack.app.requests.filter((r) => r.method === "POST" && r.path === "/sync/mentor");
    expect(posts.map((r) => r.status).slice(0, 2)).toEqual([503, -1]);
    const byDv = appMentorsByDataverseId(h);
    expect(byDv.get(EMIL)).toBe(1);
    expect(byDv.get(NORA)).toBe(1);
    expect(duplicatesOf(byDv)).toEqual([]);
    // Each contact got the app's id written back to its key column.
    for (const id of [EMIL, NORA]) expect(String(h.stack.dataverse.row("contact", id)!.hlf_mentorid)).toMatch(/^m-/);
  });

  it("dead-letters a record the app refuses with 422 and its message, and creates the other", async () => {
    // Prepare
    h = await startSyncHarness();
    h.stack.app.failNext({ method: "POST", path: "/sync/mentor", status: 422, body: { error: { code: "VALIDATION", message: "email domain is not allowed for mentors" } } });

    // Act
    const summary = await h.cycle();

    // Assess
    expect(summary.status).toBe("completed_with_failures");
    expect(summary.failures).toHaveLength(1);
    const failure = summary.failures[0];
    expect(failure).toMatchObject({ mapping: "mentors", direction: "toApp", code: "REJECTED" });
    expect(failure.message).toContain("email domain is not allowed for mentors");
    expect([EMIL, NORA]).toContain(failure.id);
    const other = failure.id === EMIL ? NORA : EMIL;
    const byDv = appMentorsByDataverseId(h);
    expect(byDv.get(other)).toBe(1);
    expect(byDv.has(failure.id)).toBe(false);
    // A permanent refusal is not retried.
    const posts = h.stack.app.requests.filter((r) => r.method === "POST" && r.path === "/sync/mentor");
    expect(posts).toHaveLength(2);
    const dl = await h.services.state.getDeadLetter(`mentors|toApp|${failure.id}`);
    expect(dl).toMatchObject({ code: "REJECTED", attempts: 1 });
  });
});
