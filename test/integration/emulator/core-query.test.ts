import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
  t.emulator.insert("contact", { firstname: "O'Brien", lastname: "Quote", hlf_mentorid: "m-q'1", hlf_score: 10 });
});
afterAll(async () => {
  await t.emulator.stop();
});

type Page = { "@odata.context": string; "@odata.count"?: number; "@odata.nextLink"?: string; value: Record<string, unknown>[] };
const INGRID = "c0a80001-0000-4000-8000-000000000001";
const NORTH = "9b3f6c1e-0d4a-4e5b-8c2d-000000000001";

async function page(path: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await t.api(path, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

async function mentorIds(filter: string): Promise<unknown[]> {
  return (await page(`contacts?$select=hlf_mentorid&$filter=${encodeURIComponent(filter)}&$orderby=hlf_mentorid`)).value.map((r) => r.hlf_mentorid);
}

describe("collections", () => {
  it("returns only the selected columns plus the primary id, with etags and the context", async () => {
    const body = await page("contacts?$select=firstname,_hlf_groupid_value&$top=1");

    expect(body["@odata.context"]).toBe(`${t.emulator.serviceRoot}$metadata#contacts(firstname,_hlf_groupid_value)`);
    expect(Object.keys(body.value[0]).sort()).toEqual(["@odata.etag", "_hlf_groupid_value", "contactid", "firstname"]);
    expect(body.value[0]["@odata.etag"]).toMatch(/^W\/"\d+"$/);
  });

  it.each([
    ["hlf_score gt 60 and hlf_ispublic eq true", [null, "m-0001"]],
    ["hlf_score ge 64 or hlf_mentorid eq 'm-0003'", [null, "m-0001", "m-0002", "m-0003"]],
    ["not (hlf_certificationstatus eq 100000000) and hlf_mentorid ne null", ["m-0002", "m-0003", "m-q'1"]],
    ["hlf_mentorid eq 'M-Q''1'", ["m-q'1"]],
    ["contains(emailaddress1,'berg') or startswith(lastname,'Han') or endswith(firstname,'fie')", ["m-0001", "m-0002", "m-0003"]],
    [`_hlf_groupid_value eq ${NORTH} and hlf_mentorid ne null`, ["m-0001", "m-0003"]],
    ["hlf_certifieduntil lt 2027-01-01", ["m-0002"]],
    ["hlf_lastcontacton ge 2026-10-15T00:00:00Z", ["m-0003"]],
    ["hlf_hourlyrate le 300 and hlf_hourlyrate gt 275.25 and hlf_mentorid ne null", ["m-0002"]],
    ["hlf_mentorid eq null and hlf_score lt 50", [null]],
  ])("filters with %s", async (filter, expected) => {
    expect(await mentorIds(filter)).toEqual(expected);
  });

  it("answers a filter of ids (found by key) as it answers the same ids through the scan", async () => {
    const all = (await page("contacts?$select=contactid,hlf_mentorid")).value;
    const [x, y] = [String(all[0].contactid), String(all[2].contactid)];
    const missing = "c0a80001-0000-4000-8000-0000000fffff";
    const byKey = await page(`contacts?$select=hlf_mentorid&$filter=${encodeURIComponent(`contactid eq ${y.toUpperCase()} or contactid eq ${missing} or contactid eq ${x} or contactid eq ${y}`)}`);
    const scanned = await page(`contacts?$select=hlf_mentorid&$filter=${encodeURIComponent(`(contactid eq ${y} or contactid eq ${missing} or contactid eq ${x}) and contactid ne null`)}`);

    expect(byKey.value).toEqual(scanned.value);
    expect(byKey.value.map((r) => r.contactid)).toEqual([x, y].sort());
  });

  it("rejects an unknown property in $filter and $select with 400", async () => {
    const filter = await t.api("contacts?$filter=nosuch eq 1");
    const select = await t.api("contacts?$select=hlf_groupid");

    expect(filter.status).toBe(400);
    expect(((await filter.json()) as { error: { message: string } }).error.message).toBe("Could not find a property named 'nosuch' on type 'Microsoft.Dynamics.CRM.contact'.");
    expect(select.status).toBe(400);
  });

  it("orders by several columns and limits with $top", async () => {
    const body = await page("contacts?$select=hlf_score&$orderby=hlf_ispublic desc,hlf_score asc&$top=3");

    expect(body.value.map((r) => r.hlf_score)).toEqual([87, 92, 0]);
  });

  it("counts matches with $count=true", async () => {
    const body = await page("contacts?$select=contactid&$count=true&$filter=hlf_ispublic eq true");

    expect(body["@odata.count"]).toBe(2);
  });

  it("answers <set>/$count with the row count as plain text", async () => {
    const res = await t.api("contacts/$count");

    expect(res.headers.get("content-type")).toContain("text/plain");
    expect(await res.text()).toBe(String(t.emulator.rows("contact").length));
  });

  it("pages with odata.maxpagesize and a paging-cookie $skiptoken until every row is read once", async () => {
    const seen: string[] = [];
    let next: string | undefined = "contacts?$select=fullname";
    let pages = 0;
    while (next) {
      const res = await t.api(next, { headers: { prefer: "odata.maxpagesize=2" } });
      expect(res.headers.get("preference-applied")).toBe("odata.maxpagesize=2");
      const body = (await res.json()) as Page;
      seen.push(...body.value.map((r) => String(r.contactid)));
      next = body["@odata.nextLink"];
      if (next) expect(decodeURIComponent(new URL(next).searchParams.get("$skiptoken")!)).toMatch(/^<cookie pagenumber="\d+" pagingcookie="[^"]+" istracking="False" \/>$/);
      pages++;
    }

    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(t.emulator.rows("contact").length);
  });

  it("adds formatted values and lookup annotations only when asked", async () => {
    const plain = await page(`contacts?$select=hlf_certificationstatus,_hlf_groupid_value&$filter=contactid eq ${INGRID}`);
    const annotated = await page(`contacts?$select=hlf_certificationstatus,_hlf_groupid_value,hlf_hourlyrate,hlf_ispublic&$filter=contactid eq ${INGRID}`,
      { prefer: 'odata.include-annotations="*"' });

    expect(Object.keys(plain.value[0]).some((k) => k.includes("@OData"))).toBe(false);
    expect(annotated.value[0]).toMatchObject({
      "hlf_certificationstatus@OData.Community.Display.V1.FormattedValue": "Active",
      "hlf_hourlyrate@OData.Community.Display.V1.FormattedValue": "$350.50",
      "hlf_ispublic@OData.Community.Display.V1.FormattedValue": "Yes",
      "_hlf_groupid_value@OData.Community.Display.V1.FormattedValue": "North",
      "_hlf_groupid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "hlf_mentorgroup",
      "_hlf_groupid_value@Microsoft.Dynamics.CRM.associatednavigationproperty": "hlf_GroupId",
      _hlf_groupid_value: NORTH,
    });
  });
});

describe("single records", () => {
  it("reads by id and by alternate key with the $entity context and an ETag", async () => {
    const byId = await t.api(`contacts(${INGRID})?$select=firstname`);
    const byKey = await t.api("contacts(hlf_mentorid='m-0001')?$select=firstname");

    const a = (await byId.json()) as Record<string, unknown>;
    const b = (await byKey.json()) as Record<string, unknown>;
    expect(a["@odata.context"]).toBe(`${t.emulator.serviceRoot}$metadata#contacts(firstname)/$entity`);
    expect(a).toEqual(b);
    expect(byId.headers.get("etag")).toBe(a["@odata.etag"]);
  });

  it("reads a key value that contains a quote", async () => {
    const res = await t.api(`contacts(hlf_mentorid='${encodeURIComponent("m-q''1")}')?$select=firstname`);

    expect(((await res.json()) as { firstname: string }).firstname).toBe("O'Brien");
  });

  it("answers 304 for If-None-Match with the current ETag, and 200 when annotations are asked for", async () => {
    const etag = String(t.emulator.row("contact", INGRID)!["@odata.etag"]);

    const notModified = await t.api(`contacts(${INGRID})`, { headers: { "if-none-match": etag } });
    const annotated = await t.api(`contacts(${INGRID})`, { headers: { "if-none-match": etag, prefer: 'odata.include-annotations="*"' } });
    const stale = await t.api(`contacts(${INGRID})`, { headers: { "if-none-match": 'W/"1"' } });

    expect(notModified.status).toBe(304);
    expect(annotated.status).toBe(200);
    expect(stale.status).toBe(200);
  });

  it("answers 404 0x80040217 for a missing key", async () => {
    const res = await t.api("contacts(hlf_mentorid='m-none')");

    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("0x80040217");
  });
});
