/**
 * The emulator's schema for any mapping: tables made from a mapping file, the defaults a small
 * schema file gets (state/status, platform tables), and the control route that writes as any user.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { addPersonUser } from "../../emulators/dataverse/actAs.js";
import { loadSchema } from "../../emulators/dataverse/schema.js";
import { schemaFromMapping, schemaGaps } from "../../emulators/dataverse/schemaFromMapping.js";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";
import type { ChangeEvent } from "../../emulators/dataverse/types.js";

let started: TestEmulator | undefined;
afterEach(async () => {
  await started?.emulator.stop();
  started = undefined;
});

async function start(schema: object): Promise<TestEmulator> {
  started = await startTestEmulator({ schema });
  return started;
}

/** A mapping file with the CMMS shapes: natural key, decimals, datetime, choice, a lookup by mapping and by key, a status pair. */
const cmms = parseSyncConfig({
  mappings: [
    {
      name: "sites", app: { entity: "site" },
      dataverse: { entitySet: "cmms_sites", table: "cmms_site", key: ["cmms_code"] },
      fields: [{ app: "id", dataverse: "cmms_code", type: "string", direction: "to-dataverse" }],
    },
    {
      name: "assets", app: { entity: "asset" },
      dataverse: { entitySet: "msdyn_customerassets", table: "msdyn_customerasset", key: ["msdyn_assetnumber"] },
      fields: [
        { app: "assetNumber", dataverse: "msdyn_assetnumber", type: "string" },
        { app: "purchasePrice", dataverse: "cmms_purchaseprice", type: "decimal", precision: 2 },
        { app: "hours", dataverse: "cmms_hours", type: "number" },
        { app: "lastServiceAt", dataverse: "cmms_lastserviceat", type: "datetime" },
        { app: "criticality", dataverse: "cmms_criticality", type: "choice", choices: { low: 100000000, high: 100000002 } },
        { app: "siteId", dataverse: "cmms_siteid", type: "lookup", lookup: { mapping: "sites", navigationProperty: "cmms_SiteId" } },
        { app: "accountNumber", dataverse: "cmms_accountid", type: "lookup", lookup: { entitySet: "accounts", key: "accountnumber" } },
      ],
    },
  ],
});

describe("tables made from a mapping file", () => {
  it("accept the mapped values by natural key, round decimals to the field's precision and refuse choices outside the map", async () => {
    const t = await start(schemaFromMapping(cmms));
    const site = await t.api("cmms_sites", { method: "POST", body: { cmms_code: "S-1" } });
    const siteId = /\(([0-9a-f-]{36})\)$/.exec(site.headers.get("odata-entityid") ?? "")![1];
    const account = await t.api("accounts", { method: "POST", body: { accountnumber: "ACC-1", name: "Energy AS" } });

    const upsert = await t.api("msdyn_customerassets(msdyn_assetnumber='A-1001')", {
      method: "PATCH", headers: { prefer: "return=representation" },
      body: {
        cmms_purchaseprice: 12500.456, cmms_hours: 1234.5, cmms_lastserviceat: "2026-01-09T10:45:00+01:00", cmms_criticality: 100000002,
        "cmms_SiteId@odata.bind": `/cmms_sites(${siteId})`, "cmms_accountid@odata.bind": "/accounts(accountnumber='ACC-1')",
      },
    });
    const row = (await upsert.json()) as Record<string, unknown>;
    const badChoice = await t.api("msdyn_customerassets(msdyn_assetnumber='A-1001')", { method: "PATCH", body: { cmms_criticality: 100000001 } });
    const read = await t.api("msdyn_customerassets?$select=msdyn_assetnumber,statecode,modifiedon,_modifiedby_value,versionnumber");

    expect(site.status).toBe(204);
    expect(account.status).toBe(204);
    expect(upsert.status).toBe(201);
    expect(row).toMatchObject({
      msdyn_assetnumber: "A-1001", cmms_purchaseprice: 12500.46, cmms_hours: 1234.5, cmms_lastserviceat: "2026-01-09T09:45:00Z",
      cmms_criticality: 100000002, _cmms_siteid_value: siteId, statecode: 0, statuscode: 1,
    });
    expect(row._cmms_accountid_value).toMatch(/^[0-9a-f-]{36}$/);
    expect(badChoice.status).toBe(400);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { value: unknown[] }).value).toHaveLength(1);
  });

  it("hold every statecode/statuscode pair of a status field, so the pair is written together", async () => {
    const config = parseSyncConfig({
      mappings: [{
        name: "orders", app: { entity: "purchaseOrder" },
        dataverse: { entitySet: "salesorders", table: "salesorder", key: ["ordernumber"] },
        fields: [
          { app: "number", dataverse: "ordernumber", type: "string" },
          { app: "status", dataverse: "statuscode", type: "status", statuses: { submitted: { state: 0, status: 100001 }, fulfilled: { state: 3, status: 100003 } } },
        ],
      }],
    });
    const t = await start(schemaFromMapping(config));

    const ok = await t.api("salesorders(ordernumber='PO-1')", { method: "PATCH", body: { statecode: 3, statuscode: 100003 } });
    const mismatched = await t.api("salesorders(ordernumber='PO-1')", { method: "PATCH", body: { statecode: 0, statuscode: 100003 } });

    expect(ok.status).toBe(204);
    expect(mismatched.status).toBe(400);
    expect(((await mismatched.json()) as { error: { message: string } }).error.message).toContain("not a valid status code");
  });

  it("are what a schema file needs: the gaps of a schema that lacks them name the table, column and key", () => {
    const partial = loadSchema({
      tables: [{
        logicalName: "msdyn_customerasset", entitySetName: "msdyn_customerassets", primaryId: "msdyn_customerassetid", primaryName: "msdyn_name",
        changeTracking: true, columns: [{ name: "msdyn_name", type: "string" }, { name: "msdyn_assetnumber", type: "string" }],
      }],
    });

    const gaps = schemaGaps(partial, cmms);

    expect(schemaGaps(loadSchema(schemaFromMapping(cmms)), cmms)).toEqual([]);
    expect(gaps).toContain("mapping sites: the schema has no table with entity set cmms_sites");
    expect(gaps).toContain("mapping assets: table msdyn_customerasset has no column cmms_purchaseprice (field purchasePrice)");
    expect(gaps).toContain("mapping assets: table msdyn_customerasset has no alternate key on msdyn_assetnumber");
  });
});

describe("schema defaults", () => {
  it("give a table without statecode the standard state and status, so reads that select statecode work", async () => {
    const t = await start({
      tables: [{ logicalName: "new_thing", entitySetName: "new_things", primaryId: "new_thingid", primaryName: "new_name", changeTracking: true, columns: [{ name: "new_name", type: "string" }] }],
    });
    await t.api("new_things", { method: "POST", body: { new_name: "one" } });

    const read = await t.api("new_things?$select=new_name,statecode,statuscode");
    const deactivate = await t.api(`new_things(${String(t.emulator.rows("new_thing")[0].new_thingid)})`, { method: "PATCH", body: { statecode: 1 } });

    expect(read.status).toBe(200);
    expect(((await read.json()) as { value: unknown[] }).value).toMatchObject([{ new_name: "one", statecode: 0, statuscode: 1 }]);
    expect(deactivate.status).toBe(204);
    expect(t.emulator.rows("new_thing")[0]).toMatchObject({ statecode: 1, statuscode: 2 });
  });
});

describe("POST /_emulator/as-user", () => {
  it("writes as the user named in the body: modifiedby and the change's user are that person's", async () => {
    const t = await start(schemaFromMapping(cmms));
    const personId = addPersonUser(t.emulator, "person-client");
    const changes: ChangeEvent[] = [];
    t.emulator.ctx.onChange((e) => changes.push(e));

    const res = await fetch(`${t.emulator.origin}/_emulator/as-user`, {
      method: "POST",
      body: JSON.stringify({ userId: personId, method: "PATCH", path: "msdyn_customerassets(msdyn_assetnumber='A-7')", body: { cmms_hours: 12 } }),
    });
    const users = (await (await fetch(`${t.emulator.origin}/_emulator/users`)).json()) as { value: { systemuserid: string; fullname: string }[] };

    expect(res.status).toBe(201);
    expect(((await res.json()) as Record<string, unknown>)._modifiedby_value).toBe(personId);
    expect(changes.map((c) => [c.message, c.userId])).toEqual([["Create", personId]]);
    expect(users.value).toContainEqual({ systemuserid: personId, fullname: "Robin Local (a person)", applicationid: null });
  });

  it("refuses an unknown user or a malformed request with 400 naming the problem, and writes nothing", async () => {
    const t = await start(schemaFromMapping(cmms));
    const post = (body: unknown) => fetch(`${t.emulator.origin}/_emulator/as-user`, { method: "POST", body: JSON.stringify(body) });

    const unknown = await post({ userId: "00000000-0000-4000-8000-000000000000", method: "PATCH", path: "msdyn_customerassets(msdyn_assetnumber='A-8')", body: {} });
    const badMethod = await post({ userId: "x", method: "PUT", path: "msdyn_customerassets" });

    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toContain("No user has systemuserid 00000000-0000-4000-8000-000000000000");
    expect(badMethod.status).toBe(400);
    expect(((await badMethod.json()) as { error: { message: string } }).error.message).toContain("method must be one of GET, POST, PATCH, DELETE");
    expect(t.emulator.rows("msdyn_customerasset")).toEqual([]);
  });
});
