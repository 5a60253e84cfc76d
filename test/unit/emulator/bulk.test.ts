import { describe, expect, it } from "vitest";
import { handleBulk, type BulkMessage } from "../../emulators/dataverse/bulk.js";
import type { EmuRequest } from "../../emulators/dataverse/types.js";
import { fakeContext } from "./fakeContext.js";

const TYPE = "Microsoft.Dynamics.CRM.contact";

function bulkRequest(message: BulkMessage, targets: unknown[]): EmuRequest {
  return {
    method: "POST",
    url: new URL(`http://127.0.0.1:9/api/data/v9.2/contacts/Microsoft.Dynamics.CRM.${message}`),
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ Targets: targets }),
    userId: "u-1",
  };
}

const error = (body: string | undefined) => JSON.parse(body!).error as { code: string; message: string };

describe("handleBulk", () => {
  it("creates every Target with CreateMultiple and answers 200 with the Ids in order", async () => {
    // Prepare
    const ctx = fakeContext();
    const targets = ["m-1", "m-2", "m-3"].map((id) => ({ "@odata.type": TYPE, hlf_mentorid: id }));
    // Act
    const response = await handleBulk("CreateMultiple", "contacts", bulkRequest("CreateMultiple", targets), ctx);
    // Assess
    expect(response.status).toBe(200);
    const body = JSON.parse(response.body!);
    expect(body["@odata.context"]).toBe("http://127.0.0.1:9/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse");
    const byId = new Map(ctx.rows("contact").map((r) => [r.contactid, r.hlf_mentorid]));
    expect(body.Ids.map((id: string) => byId.get(id))).toEqual(["m-1", "m-2", "m-3"]);
    expect(ctx.events.map((e) => `${e.message}:${e.userId}`)).toEqual(["Create:u-1", "Create:u-1", "Create:u-1"]);
  });

  it("creates nothing when one Target fails, and answers with that Target's error", async () => {
    const ctx = fakeContext();
    const targets = [{ "@odata.type": TYPE, hlf_mentorid: "m-1" }, { "@odata.type": TYPE, hlf_mentorid: "m-1" }];
    const response = await handleBulk("CreateMultiple", "contacts", bulkRequest("CreateMultiple", targets), ctx);
    expect(response.status).toBe(412);
    expect(error(response.body).code).toBe("0x80060892");
    expect(ctx.rows("contact")).toEqual([]);
    expect(ctx.events).toEqual([]);
  });

  it("rejects a Target without the table's @odata.type before writing anything", async () => {
    const ctx = fakeContext();
    const targets = [{ "@odata.type": TYPE, hlf_mentorid: "m-1" }, { "@odata.type": "Microsoft.Dynamics.CRM.account", name: "x" }];
    const response = await handleBulk("CreateMultiple", "contacts", bulkRequest("CreateMultiple", targets), ctx);
    expect(response.status).toBe(400);
    expect(error(response.body).message).toContain("Targets[1]");
    expect(ctx.rows("contact")).toEqual([]);
  });

  it("applies only the first of duplicate UpdateMultiple Targets and answers 204", async () => {
    // Prepare
    const ctx = fakeContext();
    const id = ctx.ops.create("contact", { hlf_mentorid: "m-1", firstname: "Ada" }, "u-1");
    // Act
    const response = await handleBulk("UpdateMultiple", "contacts", bulkRequest("UpdateMultiple", [
      { "@odata.type": TYPE, contactid: id, firstname: "First" },
      { "@odata.type": TYPE, contactid: id.toUpperCase(), firstname: "Second" },
    ]), ctx);
    // Assess
    expect(response.status).toBe(204);
    expect(ctx.rows("contact")[0].firstname).toBe("First");
    expect(ctx.events.filter((e) => e.message === "Update")).toHaveLength(1);
  });

  it("rolls back every UpdateMultiple Target when one record does not exist", async () => {
    const ctx = fakeContext();
    const id = ctx.ops.create("contact", { hlf_mentorid: "m-1", firstname: "Ada" }, "u-1");
    const response = await handleBulk("UpdateMultiple", "contacts", bulkRequest("UpdateMultiple", [
      { "@odata.type": TYPE, contactid: id, firstname: "Changed" },
      { "@odata.type": TYPE, contactid: "00000000-0000-0000-0000-00000000dead", firstname: "x" },
    ]), ctx);
    expect(response.status).toBe(404);
    expect(ctx.rows("contact")[0].firstname).toBe("Ada");
  });

  it("rejects an UpdateMultiple Target without the primary id", async () => {
    const ctx = fakeContext();
    const response = await handleBulk("UpdateMultiple", "contacts", bulkRequest("UpdateMultiple", [{ "@odata.type": TYPE, hlf_mentorid: "m-1" }]), ctx);
    expect(response.status).toBe(400);
    expect(error(response.body).message).toContain("contactid");
  });

  it("upserts by @odata.id key URL and by primary id, creating and updating", async () => {
    // Prepare
    const ctx = fakeContext();
    const existing = ctx.ops.create("contact", { hlf_mentorid: "m-1", firstname: "Ada" }, "u-1");
    // Act
    const response = await handleBulk("UpsertMultiple", "contacts", bulkRequest("UpsertMultiple", [
      { "@odata.type": TYPE, "@odata.id": "contacts(hlf_mentorid='m-1')", firstname: "Updated" },
      { "@odata.type": TYPE, "@odata.id": "contacts(hlf_mentorid='m-2')", firstname: "New" },
      { "@odata.type": TYPE, contactid: "11111111-1111-1111-1111-111111111111", hlf_mentorid: "m-3" },
    ]), ctx);
    // Assess
    expect(response.status).toBe(204);
    const rows = new Map(ctx.rows("contact").map((r) => [r.hlf_mentorid, r]));
    expect(rows.get("m-1")).toMatchObject({ contactid: existing, firstname: "Updated" });
    expect(rows.get("m-2")).toMatchObject({ firstname: "New" });
    expect(rows.get("m-3")).toMatchObject({ contactid: "11111111-1111-1111-1111-111111111111" });
    expect(ctx.events.map((e) => e.message)).toEqual(["Create", "Update", "Create", "Create"]);
  });

  it("rejects UpsertMultiple Targets that repeat a key, writing nothing", async () => {
    const ctx = fakeContext();
    const response = await handleBulk("UpsertMultiple", "contacts", bulkRequest("UpsertMultiple", [
      { "@odata.type": TYPE, "@odata.id": "contacts(hlf_mentorid='m-1')", firstname: "a" },
      { "@odata.type": TYPE, "@odata.id": "contacts(hlf_mentorid='M-1')", firstname: "b" },
    ]), ctx);
    expect(response.status).toBe(400);
    expect(error(response.body).message).toMatch(/duplicate key/);
    expect(ctx.rows("contact")).toEqual([]);
  });

  it("answers DeleteMultiple on a standard table with the documented 400", async () => {
    const ctx = fakeContext();
    const response = await handleBulk("DeleteMultiple", "contacts", bulkRequest("DeleteMultiple", [{ "@odata.type": TYPE, contactid: "x" }]), ctx);
    expect(response.status).toBe(400);
    expect(error(response.body).message).toBe("DeleteMultiple has not yet been implemented.");
  });

  it("answers 404 for an unknown entity set and 400 for a body without Targets", async () => {
    const ctx = fakeContext();
    expect((await handleBulk("CreateMultiple", "widgets", bulkRequest("CreateMultiple", []), ctx)).status).toBe(404);
    const noTargets = { ...bulkRequest("CreateMultiple", []), body: "{}" };
    expect((await handleBulk("CreateMultiple", "contacts", noTargets, ctx)).status).toBe(400);
  });
});
