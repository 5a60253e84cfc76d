import { describe, expect, it } from "vitest";
import { jsonResponse } from "../http/fakes.js";
import { clientWith, collect, guid, root } from "./support.js";

const tracked = { "Preference-Applied": "odata.track-changes" };
const deleted = (id: string) => ({ "@odata.context": `${root}$metadata#contacts/$deletedEntity`, id, reason: "deleted" });

describe("readChanges", () => {
  it("reads the initial pages with track-changes and puts the delta link on the last page", async () => {
    const next = `${root}contacts?$select=firstname&$skiptoken=2`;
    const delta = `${root}contacts?$select=firstname&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44`;
    const { client, fetch } = clientWith([
      jsonResponse(200, { value: [{ contactid: guid(1) }], "@odata.nextLink": next }, tracked),
      jsonResponse(200, { value: [{ contactid: guid(2) }], "@odata.deltaLink": delta }, tracked),
    ]);

    const pages = await collect(client.readChanges("contacts", { select: ["firstname"], pageSize: 1 }));

    expect(pages).toEqual([
      { rows: [{ contactid: guid(1) }], deleted: [] },
      { rows: [{ contactid: guid(2) }], deleted: [], deltaLink: delta },
    ]);
    expect(fetch.calls[0].url).toBe(`${root}contacts?$select=firstname`);
    expect(fetch.calls[0].headers.prefer).toBe("odata.track-changes,odata.maxpagesize=1");
    expect(fetch.calls[1].url).toBe(next);
  });

  it("reads a delta link and reports $deletedEntity entries as deleted ids", async () => {
    const delta = `${root}contacts?$select=firstname&$deltatoken=1`;
    const newDelta = `${root}contacts?$select=firstname&$deltatoken=2`;
    const { client, fetch } = clientWith([jsonResponse(200, { value: [{ contactid: guid(1), firstname: "A" }, deleted(guid(2))], "@odata.deltaLink": newDelta }, tracked)]);

    const pages = await collect(client.readChanges("contacts", { select: ["firstname"], deltaLink: delta }));

    expect(pages).toEqual([{ rows: [{ contactid: guid(1), firstname: "A" }], deleted: [guid(2)], deltaLink: newDelta }]);
    expect(fetch.calls[0].url).toBe(delta);
  });

  it("yields pages without a delta link when the table is not change-tracked", async () => {
    const { client } = clientWith([jsonResponse(200, { value: [{ hlf_name: "x" }] })]);

    const pages = await collect(client.readChanges("hlf_untracked", { select: ["hlf_name"] }));

    expect(pages).toEqual([{ rows: [{ hlf_name: "x" }], deleted: [] }]);
  });

  it("throws EXPIRED_DELTA_TOKEN when the token has expired", async () => {
    const { client, fetch } = clientWith([jsonResponse(400, { error: { code: "0x80044352", message: "Version stamp associated with the client has expired. Please perform a full sync." } })]);

    await expect(collect(client.readChanges("contacts", { select: ["firstname"], deltaLink: `${root}contacts?$deltatoken=1` }))).rejects.toMatchObject({ code: "EXPIRED_DELTA_TOKEN", kind: "permanent" });
    expect(fetch.calls).toHaveLength(1);
  });
});
