import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";
import { batchBody, readBatchResponse, type WireOp, type WireResponse } from "../../unit/emulator/batchWire.js";

/** Row versions on the wire (dataverse-web-api.md §4 COND and the error table): If-Match on PATCH/DELETE, alone and in `$batch`. */
let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.emulator.stop();
});

const MISMATCH = { code: "0x80060882", message: "The version of the existing record doesn't match the RowVersion property provided." };

const etagOf = (id: string) => String(t.emulator.row("contact", id)!["@odata.etag"]);
const versionOf = (id: string) => Number(t.emulator.row("contact", id)!.versionnumber);

async function batch(ops: WireOp[], prefer?: string): Promise<{ res: Response; parts: WireResponse[] }> {
  const res = await t.api("$batch", {
    method: "POST",
    headers: { "content-type": "multipart/mixed; boundary=batch_rv", ...(prefer ? { prefer } : {}) },
    body: batchBody("batch_rv", ops),
  });
  return { res, parts: readBatchResponse(res.headers.get("content-type")!, await res.text()) as WireResponse[] };
}

const patch = (id: string, ifMatch: string, body: Record<string, unknown>): WireOp => ({ method: "PATCH", url: `/api/data/v9.2/contacts(${id})`, headers: { "If-Match": ifMatch }, body });

describe("row versions", () => {
  it("gives every row an @odata.etag of W/\"<versionnumber>\" that changes on every write", async () => {
    // Prepare
    const id = t.emulator.insert("contact", { firstname: "Ver" });
    const seen = [versionOf(id)];

    // Act: a plain PATCH, an upsert by key, an UpdateMultiple and a $batch part each write once
    await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": "*" }, body: { hlf_score: 1 } });
    seen.push(versionOf(id));
    await t.api(`contacts(${id})`, { method: "PATCH", body: { hlf_score: 1 } });
    seen.push(versionOf(id));
    await t.api("contacts/Microsoft.Dynamics.CRM.UpdateMultiple", { method: "POST", body: { Targets: [{ "@odata.type": "Microsoft.Dynamics.CRM.contact", contactid: id, hlf_score: 2 }] } });
    seen.push(versionOf(id));
    await batch([patch(id, etagOf(id), { hlf_score: 3 })], "odata.continue-on-error");
    seen.push(versionOf(id));

    // Assess: strictly rising, even for a write that changed no value, and the etag follows it
    expect(seen.every((v, i) => i === 0 || v > seen[i - 1])).toBe(true);
    expect(etagOf(id)).toBe(`W/"${seen.at(-1)}"`);
    const read = await t.api(`contacts(${id})?$select=hlf_score`);
    expect(((await read.json()) as Record<string, unknown>)["@odata.etag"]).toBe(`W/"${seen.at(-1)}"`);
    expect(read.headers.get("etag")).toBe(`W/"${seen.at(-1)}"`);
  });

  it("puts the current version on every change-tracking row, initial and delta", async () => {
    // Prepare
    const id = t.emulator.insert("contact", { firstname: "Delta" });
    const initial = await t.api("contacts?$select=firstname", { headers: { prefer: "odata.track-changes" } });
    const first = (await initial.json()) as { value: Record<string, unknown>[]; "@odata.deltaLink": string };
    await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": etagOf(id) }, body: { firstname: "Delta 2" } });

    // Act
    const delta = (await (await t.api(first["@odata.deltaLink"])).json()) as { value: Record<string, unknown>[] };

    // Assess
    for (const row of first.value.filter((r) => r.contactid !== id)) expect(row["@odata.etag"]).toBe(etagOf(String(row.contactid)));
    expect(first.value.find((r) => r.contactid === id)!["@odata.etag"]).not.toBe(etagOf(id));
    const changed = delta.value.find((r) => r.contactid === id)!;
    expect(changed).toMatchObject({ firstname: "Delta 2", "@odata.etag": etagOf(id) });
    expect(changed["@odata.etag"]).toBe(`W/"${versionOf(id)}"`);
  });

  it("answers a stale If-Match with 412 and the documented body on a single PATCH and DELETE, and changes nothing", async () => {
    // Prepare
    const id = t.emulator.insert("contact", { firstname: "Single", hlf_score: 1 });
    const stale = etagOf(id);
    await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": stale }, body: { hlf_score: 2 } });
    const current = etagOf(id);

    // Act
    const update = await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": stale }, body: { hlf_score: 3 } });
    const remove = await t.api(`contacts(${id})`, { method: "DELETE", headers: { "if-match": stale } });

    // Assess
    expect(update.status).toBe(412);
    expect(update.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await update.json()).toEqual({ error: MISMATCH });
    expect(remove.status).toBe(412);
    expect(await remove.json()).toEqual({ error: MISMATCH });
    expect(t.emulator.row("contact", id)).toMatchObject({ hlf_score: 2, "@odata.etag": current });
  });

  it("applies a single PATCH and DELETE whose If-Match is the current W/\"n\", and treats * as any existing row", async () => {
    const id = t.emulator.insert("contact", { firstname: "Fresh" });

    const update = await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": etagOf(id) }, body: { hlf_score: 7 } });
    const any = await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": "*" }, body: { hlf_score: 8 } });
    const remove = await t.api(`contacts(${id})`, { method: "DELETE", headers: { "if-match": etagOf(id) } });
    const gone = await t.api(`contacts(${id})`, { method: "DELETE", headers: { "if-match": "*" } });

    expect([update.status, any.status, remove.status]).toEqual([204, 204, 204]);
    expect(gone.status).toBe(404);
    expect(t.emulator.row("contact", id)).toBeUndefined();
  });

  it("answers each stale $batch part with its own 412 under continue-on-error while the other parts land", async () => {
    // Prepare
    const ids = [1, 2, 3].map((n) => t.emulator.insert("contact", { firstname: `B${n}`, hlf_score: 0 }));
    const stale = etagOf(ids[1]);
    await t.api(`contacts(${ids[1]})`, { method: "PATCH", headers: { "if-match": "*" }, body: { firstname: "Changed by a person" } });
    const doomed = t.emulator.insert("contact", { firstname: "Doomed" });
    const staleDoomed = etagOf(doomed);
    await t.api(`contacts(${doomed})`, { method: "PATCH", headers: { "if-match": "*" }, body: { hlf_score: 1 } });

    // Act
    const { res, parts } = await batch(
      [
        patch(ids[0], etagOf(ids[0]), { hlf_score: 10 }),
        patch(ids[1], stale, { hlf_score: 20 }),
        patch(ids[2], "*", { hlf_score: 30 }),
        { method: "DELETE", url: `/api/data/v9.2/contacts(${doomed})`, headers: { "If-Match": staleDoomed } },
      ],
      "odata.continue-on-error",
    );

    // Assess
    expect(res.status).toBe(200);
    expect(parts.map((p) => p.status)).toEqual([204, 412, 204, 412]);
    expect(JSON.parse(parts[1].body)).toEqual({ error: MISMATCH });
    expect(JSON.parse(parts[3].body)).toEqual({ error: MISMATCH });
    expect(ids.map((id) => t.emulator.row("contact", id)!.hlf_score)).toEqual([10, 0, 30]);
    expect(t.emulator.row("contact", ids[1])!.firstname).toBe("Changed by a person");
    expect(t.emulator.row("contact", doomed)).toBeDefined();
  });

  it("stops a $batch without continue-on-error at a stale part and answers 412 with only that part", async () => {
    const id = t.emulator.insert("contact", { firstname: "Stop" });
    const stale = etagOf(id);
    await t.api(`contacts(${id})`, { method: "PATCH", headers: { "if-match": "*" }, body: { hlf_score: 1 } });
    const next = t.emulator.insert("contact", { firstname: "Never" });

    const { res, parts } = await batch([patch(id, stale, { hlf_score: 2 }), patch(next, "*", { hlf_score: 3 })]);

    expect(res.status).toBe(412);
    expect(parts).toHaveLength(1);
    expect(JSON.parse(parts[0].body)).toEqual({ error: MISMATCH });
    expect(t.emulator.row("contact", next)!.hlf_score).toBeNull();
  });
});
