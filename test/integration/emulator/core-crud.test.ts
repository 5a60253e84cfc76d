import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";
import type { ChangeEvent } from "../../emulators/dataverse/types.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.emulator.stop();
});

const NORTH = "9b3f6c1e-0d4a-4e5b-8c2d-000000000001";
const INGRID = "c0a80001-0000-4000-8000-000000000001";

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

function idFrom(res: Response): string {
  return /\(([0-9a-f-]{36})\)$/.exec(res.headers.get("odata-entityid") ?? "")![1];
}

describe("create", () => {
  it("answers 204 with OData-EntityId and stores system columns attributed to the caller", async () => {
    const res = await t.api("contacts", { method: "POST", body: { firstname: "Create", lastname: "Plain", hlf_mentorid: "m-c1" } });

    expect(res.status).toBe(204);
    const id = idFrom(res);
    expect(res.headers.get("odata-entityid")).toBe(`${t.emulator.serviceRoot}contacts(${id})`);
    const row = t.emulator.row("contact", id)!;
    expect(row.fullname).toBe("Create Plain");
    expect(row.modifiedon).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(row._modifiedby_value).toBe(t.emulator.userIdFor(t.clientId));
    expect(row._ownerid_value).toBe(t.emulator.userIdFor(t.clientId));
    expect([row.statecode, row.statuscode]).toEqual([0, 1]);
    expect(row["@odata.etag"]).toBe(`W/"${String(row.versionnumber)}"`);
  });

  it("answers 201 with the body and no OData-EntityId when return=representation is preferred", async () => {
    const res = await t.api("contacts?$select=firstname,hlf_score", {
      method: "POST", headers: { prefer: "return=representation" }, body: { firstname: "Rep", hlf_score: 5 },
    });

    expect(res.status).toBe(201);
    expect(res.headers.get("preference-applied")).toBe("return=representation");
    expect(res.headers.get("odata-entityid")).toBeNull();
    const body = (await res.json()) as Record<string, unknown>;
    expect(body["@odata.context"]).toBe(`${t.emulator.serviceRoot}$metadata#contacts(firstname,hlf_score)/$entity`);
    expect(body).toMatchObject({ firstname: "Rep", hlf_score: 5 });
    expect(res.headers.get("etag")).toBe(body["@odata.etag"]);
  });

  it("raises the version org-wide on every write", async () => {
    const a = idFrom(await t.api("contacts", { method: "POST", body: { firstname: "V1" } }));
    const b = idFrom(await t.api("hlf_mentorgroups", { method: "POST", body: { hlf_name: "V2" } }));

    expect(Number(t.emulator.row("hlf_mentorgroup", b)!.versionnumber)).toBeGreaterThan(Number(t.emulator.row("contact", a)!.versionnumber));
  });

  it("rejects a duplicate alternate key with 412 0x80060892", async () => {
    const res = await t.api("contacts", { method: "POST", body: { hlf_mentorid: "m-0001" } });

    expect(res.status).toBe(412);
    expect(await errorOf(res)).toMatchObject({ code: "0x80060892", message: expect.stringContaining("Entity Key hlf_mentorid_key violated") });
  });

  it("validates length, choices, types and unknown columns with Dataverse codes", async () => {
    const long = await t.api("contacts", { method: "POST", body: { firstname: "x".repeat(51) } });
    const choice = await t.api("contacts", { method: "POST", body: { hlf_certificationstatus: 7 } });
    const type = await t.api("contacts", { method: "POST", body: { hlf_score: "many" } });
    const unknown = await t.api("contacts", { method: "POST", body: { nosuchcolumn: 1 } });

    expect(long.status).toBe(400);
    expect(await errorOf(long)).toEqual({ code: "0x80044331",
      message: "A validation error occurred.  The length of the 'firstname' attribute of the 'contact' entity exceeded the maximum allowed length of '50'." });
    expect(choice.status).toBe(400);
    expect((await errorOf(choice)).code).toBe("0x8004431a");
    expect(type.status).toBe(400);
    expect((await errorOf(type)).message).toContain("Edm.Int32");
    expect(unknown.status).toBe(400);
    expect((await errorOf(unknown)).message).toContain("The property 'nosuchcolumn' does not exist on type 'Microsoft.Dynamics.CRM.contact'");
  });

  it("answers 400 for a malformed JSON body and 404 for an unknown entity set", async () => {
    const bad = await t.api("contacts", { method: "POST", body: "{not json" });
    const unknown = await t.api("nosuchthings");

    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe("0x80048d19");
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toEqual({ code: "0x8006088a", message: "Resource not found for the segment 'nosuchthings'." });
  });
});

describe("lookups", () => {
  it.each([
    ["relative", "hlf_mentorgroups(9b3f6c1e-0d4a-4e5b-8c2d-000000000001)"],
    ["leading slash", "/hlf_mentorgroups(9b3f6c1e-0d4a-4e5b-8c2d-000000000001)"],
    ["alternate key", "/hlf_mentorgroups(hlf_groupcode='g-north')"],
  ])("binds a lookup from a %s URL", async (_label, url) => {
    const res = await t.api("contacts", { method: "POST", body: { firstname: "Bind", "hlf_GroupId@odata.bind": url } });

    expect(res.status).toBe(204);
    expect(t.emulator.row("contact", idFrom(res))!._hlf_groupid_value).toBe(NORTH);
  });

  it("binds from an absolute URL and clears with a null bind", async () => {
    const res = await t.api("contacts", { method: "POST", body: { "hlf_GroupId@odata.bind": `${t.emulator.serviceRoot}hlf_mentorgroups(${NORTH})` } });
    const id = idFrom(res);
    const cleared = await t.api(`contacts(${id})`, { method: "PATCH", body: { "hlf_GroupId@odata.bind": null } });

    expect(res.status).toBe(204);
    expect(cleared.status).toBe(204);
    expect(t.emulator.row("contact", id)!._hlf_groupid_value).toBeNull();
  });

  it("rejects a bind URL that names no valid record with 400 0x80090800", async () => {
    const res = await t.api("contacts", { method: "POST", body: { "hlf_GroupId@odata.bind": "/contacts(c0a80001-0000-4000-8000-000000000001)" } });

    expect(res.status).toBe(400);
    expect(await errorOf(res)).toEqual({ code: "0x80090800",
      message: "Invalid url value '/contacts(c0a80001-0000-4000-8000-000000000001)' for lookup property 'hlf_GroupId'." });
  });
});

describe("update, upsert and delete", () => {
  it("updates with 204 and returns 200 with the row under return=representation", async () => {
    const id = t.emulator.insert("contact", { firstname: "Up" });

    const plain = await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": "*" }, body: { hlf_score: 3 } });
    const rep = await t.api(`contacts(${id})?$select=hlf_score`, { method: "PATCH", headers: { prefer: "return=representation" }, body: { hlf_score: 4 } });

    expect(plain.status).toBe(204);
    expect(rep.status).toBe(200);
    expect(((await rep.json()) as { hlf_score: number }).hlf_score).toBe(4);
  });

  it("upserts by alternate key: 204 creating, then 204 updating, echoing the key URL", async () => {
    const created = await t.api("contacts(hlf_mentorid='m-up1')", { method: "PATCH", body: { firstname: "First" } });
    const updated = await t.api("contacts(hlf_mentorid='m-up1')", { method: "PATCH", body: { firstname: "Second" } });

    expect(created.status).toBe(204);
    expect(updated.status).toBe(204);
    expect(updated.headers.get("odata-entityid")).toBe(`${t.emulator.serviceRoot}contacts(hlf_mentorid='m-up1')`);
    const rows = t.emulator.rows("contact").filter((r) => r.hlf_mentorid === "m-up1");
    expect(rows.map((r) => r.firstname)).toEqual(["Second"]);
  });

  it("tells create from update with 201 and 200 under return=representation", async () => {
    const created = await t.api("contacts(hlf_mentorid='m-up2')", { method: "PATCH", headers: { prefer: "return=representation" }, body: { firstname: "A" } });
    const updated = await t.api("contacts(hlf_mentorid='m-up2')", { method: "PATCH", headers: { prefer: "return=representation" }, body: { firstname: "B" } });

    expect([created.status, updated.status]).toEqual([201, 200]);
    expect(updated.headers.get("etag")).toMatch(/^W\/"\d+"$/);
  });

  it("ignores key columns in the body on update and lets them win on create", async () => {
    await t.api("contacts(hlf_mentorid='m-key1')", { method: "PATCH", body: { hlf_mentorid: "m-key-body" } });
    await t.api("contacts(hlf_mentorid='m-key-body')", { method: "PATCH", body: { hlf_mentorid: "m-key-changed", firstname: "Kept" } });

    const ids = t.emulator.rows("contact").map((r) => r.hlf_mentorid);
    expect(ids).toContain("m-key-body");
    expect(ids).not.toContain("m-key1");
    expect(ids).not.toContain("m-key-changed");
  });

  it("answers 404 0x80040217 for If-Match: * on a missing row instead of creating it", async () => {
    const missing = "0f0f0f0f-0000-4000-8000-000000000000";
    const res = await t.api(`contacts(${missing})`, { method: "PATCH", headers: { "if-match": "*" }, body: { firstname: "No" } });

    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: "0x80040217", message: `contact With Id = ${missing} Does Not Exist` });
    expect(t.emulator.row("contact", missing)).toBeUndefined();
  });

  it("answers 412 for If-None-Match: * when the row exists", async () => {
    const res = await t.api("contacts(hlf_mentorid='m-0002')", { method: "PATCH", headers: { "if-none-match": "*" }, body: { firstname: "No" } });

    expect(res.status).toBe(412);
    expect((await errorOf(res)).message).toBe("A record with matching key values already exists.");
  });

  it("answers 412 0x80060882 for a stale ETag on update and delete", async () => {
    const id = t.emulator.insert("contact", { firstname: "Etag" });
    const stale = String(t.emulator.row("contact", id)!["@odata.etag"]);
    await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": stale }, body: { hlf_score: 1 } });

    const update = await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": stale }, body: { hlf_score: 2 } });
    const del = await t.api(`contacts(${id})`, { method: "DELETE", headers: { "if-match": stale } });

    expect(update.status).toBe(412);
    expect((await errorOf(update)).code).toBe("0x80060882");
    expect(del.status).toBe(412);
    expect(t.emulator.row("contact", id)!.hlf_score).toBe(1);
  });

  it("deletes with 204 and answers 404 the second time", async () => {
    const id = t.emulator.insert("contact", { firstname: "Del" });

    const first = await t.api(`contacts(${id})`, { method: "DELETE" });
    const second = await t.api(`contacts(${id})`, { method: "DELETE" });

    expect([first.status, second.status]).toEqual([204, 404]);
    expect((await errorOf(second)).code).toBe("0x80040217");
  });

  it("rejects key names that are not a declared key with the documented text", async () => {
    const res = await t.api("contacts(firstname='Ingrid')");

    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toBe("The key in the request URI is not valid for resource 'Microsoft.Dynamics.CRM.contact'. Ensure that the names and number of key properties match the declared or alternate key properties for the resource 'Microsoft.Dynamics.CRM.contact'.");
  });

  it("fills the default status for a statecode-only update and rejects a mismatched pair with 0x80048408", async () => {
    const id = t.emulator.insert("contact", { firstname: "State" });

    const deactivate = await t.api(`contacts(${id})`, { method: "PATCH", body: { statecode: 1 } });
    const wrong = await t.api(`contacts(${id})`, { method: "PATCH", body: { statecode: 0, statuscode: 2 } });

    expect(deactivate.status).toBe(204);
    expect(t.emulator.row("contact", id)).toMatchObject({ statecode: 1, statuscode: 2 });
    expect(wrong.status).toBe(400);
    expect((await errorOf(wrong)).code).toBe("0x80048408");
  });
});

describe("transactions and change events", () => {
  it("undoes writes made inside a failed transaction and raises no events for them", async () => {
    const events: ChangeEvent[] = [];
    const off = t.emulator.ctx.onChange((e) => events.push(e));
    const user = t.emulator.userIdFor(t.clientId);

    await expect(t.emulator.ctx.transaction(async () => {
      t.emulator.ctx.ops.create("contact", { firstname: "Tx", hlf_mentorid: "m-tx1" }, user);
      t.emulator.ctx.ops.update("contact", INGRID, { hlf_score: 1 }, user);
      t.emulator.ctx.ops.create("contact", { hlf_mentorid: "m-0002" }, user); // duplicate key: fails
    })).rejects.toMatchObject({ status: 412 });
    off();

    expect(t.emulator.rows("contact").some((r) => r.hlf_mentorid === "m-tx1")).toBe(false);
    expect(t.emulator.row("contact", INGRID)!.hlf_score).toBe(87);
    expect(events).toEqual([]);
  });

  it("raises events after a committed transaction with the writer and changed columns", async () => {
    const events: ChangeEvent[] = [];
    const off = t.emulator.ctx.onChange((e) => events.push(e));
    const user = t.emulator.userIdFor(t.clientId);

    const id = await t.emulator.ctx.transaction(async () => t.emulator.ctx.ops.create("contact", { firstname: "Committed" }, user));
    off();

    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ table: "contact", message: "Create", id, userId: user, changed: { firstname: "Committed" } });
  });
});
