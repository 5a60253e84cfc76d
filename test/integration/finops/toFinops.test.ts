import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import { customerGroups, seedCustomerGroups, startFinopsStack, type FinopsStack } from "./finopsFixtures.js";

/** to-finops: app records imported into F&O through a recurring data job (a CSV file job). */
describe("a to-finops job (recurring integration, CSV)", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  it("imports the app's records once: enqueued, processed, the cursor moved, nothing sent again", async () => {
    // Prepare
    s = await startFinopsStack([customerGroups]);
    seedCustomerGroups(s, 5);
    // Act
    const run = await s.run("customer-groups");
    const again = await s.run("customer-groups");
    // Assess
    expect(run.error).toBeUndefined();
    expect(run.status).toBe("succeeded");
    expect(run.toDataverse.created).toBe(5);
    const rows = s.fo.importedRows("Customer groups");
    expect(rows.map((r) => r.CUSTOMERGROUPID).sort()).toEqual(["G1", "G2", "G3", "G4", "G5"]);
    expect(rows.find((r) => r.CUSTOMERGROUPID === "G3")?.DESCRIPTION).toBe("Group 3");
    expect(again.status).toBe("succeeded");
    expect(again.toDataverse.created).toBe(0);
    expect(s.fo.importedRows("Customer groups")).toHaveLength(5);
    const enqueues = s.fo.requestLog().filter((r) => r.path.includes("/api/connector/enqueue/"));
    expect(enqueues).toHaveLength(1);
    const [message] = s.fo.messages();
    expect(message.status).toBe("Processed");
    expect(message.externalIdentifier).toMatch(new RegExp(`^${s.names["customer-groups"]}-`));
    expect(message.company).toBe("USMF");
  });

  it("turns 3 records F&O rejects out of 100 into 3 pending app records that name F&O's error", async () => {
    // Prepare
    s = await startFinopsStack([customerGroups]);
    seedCustomerGroups(s, 100);
    const bad = new Set(["G7", "G42", "G99"]);
    s.fo.failRecords("Customer groups", (row) => (bad.has(row.CUSTOMERGROUPID) ? `Customer group ${row.CUSTOMERGROUPID} is blocked for new transactions.` : undefined));
    // Act
    const run = await s.run("customer-groups");
    // Assess
    expect(run.status).toBe("completed_with_failures");
    expect(run.toDataverse).toMatchObject({ created: 97, failed: 3 });
    expect(s.fo.importedRows("Customer groups")).toHaveLength(97);
    const pending = await s.services.state.listDeadLetters({ mapping: s.names["customer-groups"] });
    expect(pending.map((p) => p.appId).sort()).toEqual(["cg-42", "cg-7", "cg-99"]);
    for (const p of pending) {
      expect(p.code).toBe(ErrorCodes.FinopsRecordRejected);
      expect(p.direction).toBe("toDataverse");
      expect(p.message).toContain(`Customer group G${p.appId!.slice(3)} is blocked for new transactions.`);
      expect(p.message).toContain("ProcessedWithErrors");
    }
  });

  it("sends a pending record again once it is fixed, and clears it when F&O accepts it", async () => {
    // Prepare
    s = await startFinopsStack([customerGroups]);
    seedCustomerGroups(s, 3);
    s.fo.failRecords("Customer groups", (row) => (row.DESCRIPTION === "Group 2" ? "Description is not allowed." : undefined));
    await s.run("customer-groups");
    s.stack.app.patch("customerGroup", "cg-2", { name: "Second group" });
    s.clock.advance(10 * 60_000); // past the pending record's back-off
    // Act
    const run = await s.run("customer-groups");
    // Assess
    expect(run.status).toBe("succeeded");
    expect(await s.services.state.listDeadLetters({ mapping: s.names["customer-groups"] })).toEqual([]);
    expect(s.fo.importedRows("Customer groups").map((r) => r.DESCRIPTION)).toContain("Second group");
  });

  it("keeps a record whose value cannot be written as F&O text pending and sends the rest", async () => {
    // Prepare
    s = await startFinopsStack([{ ...customerGroups, fields: [...customerGroups.fields!, { app: "active", finops: "ISACTIVE", type: "boolean" }] }]);
    s.stack.app.put("customerGroup", "ok", { code: "OK", name: "fine", active: true });
    s.stack.app.put("customerGroup", "odd", { code: "ODD", name: "odd", active: "perhaps" });
    // Act
    const run = await s.run("customer-groups");
    // Assess
    expect(run.toDataverse).toMatchObject({ created: 1, failed: 1 });
    expect(s.fo.importedRows("Customer groups").map((r) => [r.CUSTOMERGROUPID, r.ISACTIVE])).toEqual([["OK", "Yes"]]);
    const [pending] = await s.services.state.listDeadLetters({ mapping: s.names["customer-groups"] });
    expect(pending).toMatchObject({ appId: "odd", code: ErrorCodes.Unmappable });
    expect(pending.message).toContain("expected true or false");
  });

  it("records a record it cannot send as pending before a batch moves the cursor past it, so a run that dies later loses nothing", async () => {
    // Prepare: one batch per record, the app's feed read two records a page, and the process
    // "dies" (the feed throws) when the second page is asked for, after the first batch was sent.
    s = await startFinopsStack([{ ...customerGroups, batchSize: 1, fields: [...customerGroups.fields!, { app: "active", finops: "ISACTIVE", type: "boolean" }] }]);
    s.stack.app.put("customerGroup", "odd", { code: "ODD", name: "odd", active: "perhaps" });
    for (const id of ["ok1", "ok2", "ok3"]) s.stack.app.put("customerGroup", id, { code: id.toUpperCase(), name: id, active: true });
    const app = s.services.app;
    const changes = app.changes.bind(app);
    app.changes = async function* (entity, cursor) {
      let pages = 0;
      for await (const page of changes(entity, cursor, 2)) {
        if (pages++ === 1) throw new Error("the process died while reading the next page");
        yield page;
      }
    };
    // Act
    const died = await s.run("customer-groups");
    // Assess: the first batch went out and moved the cursor; the record before it is pending.
    expect(died.status).toBe("failed");
    expect(s.fo.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID)).toEqual(["OK1"]);
    const pending = await s.services.state.listDeadLetters({ mapping: s.names["customer-groups"] });
    expect(pending.map((p) => [p.appId, p.code])).toEqual([["odd", ErrorCodes.Unmappable]]);
    app.changes = changes;
    const next = await s.run("customer-groups");
    expect(next.status).toBe("succeeded");
    expect(s.fo.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID).sort()).toEqual(["OK1", "OK2", "OK3"]);
  });

  it("never enqueues a batch twice silently when the enqueue's answer was lost: it stops until an operator decides", async () => {
    // Prepare: F&O takes the file, and the answer never arrives.
    s = await startFinopsStack([customerGroups]);
    seedCustomerGroups(s, 3);
    s.fo.faults.add({ method: "POST", path: "/api/connector/enqueue/", lostAnswer: true });
    const lost = await s.run("customer-groups");
    // Act
    const blocked = await s.run("customer-groups");
    const marked = await s.run("customer-groups", { markSent: true });
    const after = await s.run("customer-groups");
    // Assess
    expect(lost.status).toBe("failed");
    expect(blocked.status).toBe("failed");
    expect(blocked.errorCode).toBe(ErrorCodes.FinopsEnqueueUnconfirmed);
    expect(blocked.error).toContain("--mark-sent");
    expect(s.fo.requestLog().filter((r) => r.path.includes("/api/connector/enqueue/"))).toHaveLength(1);
    expect(marked.status).toBe("succeeded");
    expect(marked.notes.join(" ")).toMatch(/marked as received by F&O/);
    expect(after.toDataverse.created).toBe(0);
    s.clock.advance(60_000); // F&O's batch processes the one message it got
    expect(s.fo.importedRows("Customer groups")).toHaveLength(3);
  });

  it("sends the records again when the operator says the lost batch is not in F&O (--resend)", async () => {
    // Prepare: the enqueue never reaches F&O's queue (the connection drops first).
    s = await startFinopsStack([customerGroups]);
    seedCustomerGroups(s, 2);
    s.fo.faults.add({ method: "POST", path: "/api/connector/enqueue/", reset: true });
    await s.run("customer-groups");
    // Act
    const resent = await s.run("customer-groups", { resend: true });
    // Assess
    expect(resent.status).toBe("succeeded");
    expect(resent.notes.join(" ")).toMatch(/sent again \(--resend\)/);
    expect(s.fo.importedRows("Customer groups").map((r) => r.CUSTOMERGROUPID).sort()).toEqual(["G1", "G2"]);
  });
});
