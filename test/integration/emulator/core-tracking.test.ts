import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDeltaToken } from "../../emulators/dataverse/index.js";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";

type Page = { "@odata.context": string; "@odata.nextLink"?: string; "@odata.deltaLink"?: string; value: Record<string, unknown>[] };

let t: TestEmulator;
let clock = Date.UTC(2026, 10, 25, 3, 0, 0);
const DAY = 24 * 60 * 60 * 1000;
beforeAll(async () => {
  t = await startTestEmulator({ now: () => clock, changeTrackingRetentionMs: 7 * DAY });
});
afterAll(async () => {
  await t.emulator.stop();
});

async function get(url: string, prefer?: string): Promise<{ res: Response; body: Page }> {
  const res = await t.api(url, { headers: prefer ? { prefer } : {} });
  return { res, body: (await res.json()) as Page };
}

/** Follows nextLinks from an initial tracked query; returns all rows and the final deltaLink. */
async function initialSync(select: string, pageSize = 5000): Promise<{ rows: Record<string, unknown>[]; deltaLink: string; pages: Page[] }> {
  const pages: Page[] = [];
  let url: string | undefined = `contacts?$select=${select}`;
  while (url) {
    const { body } = await get(url, `odata.track-changes,odata.maxpagesize=${pageSize}`);
    pages.push(body);
    url = body["@odata.nextLink"];
  }
  return { rows: pages.flatMap((p) => p.value), deltaLink: pages.at(-1)!["@odata.deltaLink"]!, pages };
}

describe("change tracking", () => {
  it("returns every row and a deltaLink with a <version>!<MM/dd/yyyy HH:mm:ss> token", async () => {
    const { res, body } = await get("contacts?$select=firstname,hlf_mentorid", "odata.track-changes");

    expect(res.headers.get("preference-applied")).toBe("odata.track-changes");
    expect(body.value).toHaveLength(t.emulator.rows("contact").length);
    const link = body["@odata.deltaLink"]!;
    expect(link.startsWith(`${t.emulator.serviceRoot}contacts?$select=firstname,hlf_mentorid&$deltatoken=`)).toBe(true);
    expect(link).toMatch(/\$deltatoken=\d+%2111%2F25%2F2026%2003%3A00%3A00$/);
  });

  it("puts the deltaLink on the last page only when paging", async () => {
    const { pages, rows } = await initialSync("firstname", 2);

    expect(pages.length).toBeGreaterThan(1);
    expect(pages.slice(0, -1).every((p) => p["@odata.deltaLink"] === undefined && p["@odata.nextLink"])).toBe(true);
    expect(pages.at(-1)!["@odata.deltaLink"]).toBeDefined();
    expect(new Set(rows.map((r) => r.contactid)).size).toBe(t.emulator.rows("contact").length);
  });

  it("keeps a tracked query tracked on later pages even without the preference", async () => {
    const first = await get("contacts?$select=firstname", "odata.track-changes,odata.maxpagesize=3");
    let body = first.body;
    while (body["@odata.nextLink"]) body = (await get(body["@odata.nextLink"], "odata.maxpagesize=3")).body;

    expect(body["@odata.deltaLink"]).toContain("$deltatoken=");
  });

  it("returns changed rows whole, then $deletedEntity entries, then a new deltaLink", async () => {
    const { deltaLink } = await initialSync("firstname,hlf_score");
    const created = t.emulator.insert("contact", { firstname: "New", hlf_score: 1 });
    await t.api("contacts(hlf_mentorid='m-0002')", { method: "PATCH", body: { hlf_score: 65 } });
    const doomed = t.emulator.insert("contact", { firstname: "Doomed" });
    await t.api(`contacts(${doomed})`, { method: "DELETE" });

    const { body } = await get(deltaLink);

    expect(body["@odata.context"]).toBe(`${t.emulator.serviceRoot}$metadata#contacts(firstname,hlf_score)/$delta`);
    expect(body.value.slice(0, 2)).toEqual([
      expect.objectContaining({ contactid: created, firstname: "New", hlf_score: 1 }),
      expect.objectContaining({ contactid: "c0a80001-0000-4000-8000-000000000002", firstname: "Ole", hlf_score: 65 }),
    ]);
    expect(body.value[2]).toEqual({ "@odata.context": `${t.emulator.serviceRoot}$metadata#contacts/$deletedEntity`, id: doomed, reason: "deleted" });
    expect(body.value).toHaveLength(3);
    const next = await get(body["@odata.deltaLink"]!);
    expect(next.body.value).toEqual([]);
  });

  it.each(["$filter=hlf_score gt 1", "$orderby=firstname", "$top=1", "$expand=hlf_GroupId"])("rejects %s together with track-changes", async (option) => {
    const { res, body } = await get(`contacts?$select=firstname&${option}`, "odata.track-changes");

    expect(res.status).toBe(400);
    const name = option.split("=")[0];
    expect((body as unknown as { error: { message: string } }).error.message).toBe(`The "${name}" query parameter isn't supported when Change Tracking is enabled.`);
  });

  it("ignores the preference on a table without change tracking", async () => {
    const { res, body } = await get("systemusers?$select=fullname", "odata.track-changes");

    expect(res.status).toBe(200);
    expect(res.headers.get("preference-applied")).toBeNull();
    expect(body["@odata.deltaLink"]).toBeUndefined();
  });

  it("expires tokens older than the retention with 0x80044352", async () => {
    const { deltaLink } = await initialSync("firstname");
    clock += 8 * DAY;
    try {
      const { res, body } = await get(deltaLink);

      expect(res.status).toBe(400);
      expect((body as unknown as { error: unknown }).error).toEqual({
        code: "0x80044352", message: "Version stamp associated with the client has expired. Please perform a full sync." });
    } finally {
      clock -= 8 * DAY;
    }
  });

  it("expires every earlier token on expireDeltaTokens() but accepts new ones", async () => {
    const { deltaLink: old } = await initialSync("firstname");
    t.emulator.expireDeltaTokens();
    const { deltaLink: fresh } = await initialSync("firstname");

    const expired = await get(old);
    const ok = await get(fresh);

    expect(expired.res.status).toBe(400);
    expect(ok.res.status).toBe(200);
    const token = decodeURIComponent(new URL(fresh).searchParams.get("$deltatoken")!);
    expect(parseDeltaToken(token)?.version).toBeGreaterThan(0);
  });
});
