import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataverseClient, type DataverseClientExtras } from "../../../shared/dataverse/createDataverseClient.js";
import { createDataverseTokenProvider } from "../../../shared/dataverse/createDataverseCredential.js";
import type { BulkWrite } from "../../../shared/ports.js";
import { DEMO_SCHEMA_PATH, startDataverseEmulator, type DataverseEmulator } from "../../emulators/dataverse/index.js";
import { startTokenServer, type TokenServer } from "../../emulators/token/index.js";
import { FakeClock } from "../../unit/http/fakes.js";

const tenantId = "3f2b6a8e-1c4d-4e5f-8a9b-0c1d2e3f4a5b";
const clientId = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d";
const clientSecret = "integration-secret-value";

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("DataverseClient against the emulator", () => {
  let tokens: TokenServer;
  let emulator: DataverseEmulator;
  let clock: FakeClock;
  let client: DataverseClientExtras;

  beforeAll(async () => {
    tokens = await startTokenServer({ tenantId, clients: [{ clientId, clientSecret }] });
    emulator = await startDataverseEmulator({ schema: DEMO_SCHEMA_PATH, auth: { jwks: () => tokens.jwks(), issuer: tokens.issuer } });
    clock = new FakeClock();
    client = createDataverseClient({
      instanceUrl: emulator.origin,
      tokens: createDataverseTokenProvider({ tenantId, clientId, clientSecret, authorityHost: tokens.authorityHost, instanceUrl: emulator.origin }),
      // Only the client's back-off sleeps are faked; requests and tokens are real.
      clock,
    });
  });
  afterAll(async () => {
    await emulator?.stop();
    await tokens?.stop();
  });

  it("authenticates through MSAL and identifies its application user", async () => {
    const me = await client.whoAmI();

    expect(me.UserId).toBe(emulator.userIdFor(clientId));
  });

  it("upserts by alternate key, reads it back, and rejects a stale etag with CONCURRENCY", async () => {
    // Prepare
    await client.upsertByKey("contacts", { hlf_mentorid: "m-it-1" }, { firstname: "Ida", lastname: "Tell", hlf_score: 10 });
    const row = await client.retrieveByKey("contacts", { hlf_mentorid: "m-it-1" }, ["contactid", "firstname", "hlf_score"]);
    const id = row!.contactid as string;
    const staleEtag = row!["@odata.etag"] as string;
    await client.update("contacts", id, { hlf_score: 11 }, { ifMatch: staleEtag });

    // Act
    const stale = await client.update("contacts", id, { hlf_score: 12 }, { ifMatch: staleEtag }).catch((e) => e);

    // Assess
    expect(row).toMatchObject({ firstname: "Ida", hlf_score: 10 });
    expect(stale).toMatchObject({ kind: "conflict", code: "CONCURRENCY" });
    expect((await client.retrieve("contacts", id, ["hlf_score"]))!.hlf_score).toBe(11);
  });

  it("creates, deletes, and then reports the row as missing", async () => {
    const id = await client.create("hlf_mentorgroups", { hlf_name: "It group", hlf_groupcode: "g-it-del" });

    await client.delete("hlf_mentorgroups", id);

    expect(await client.retrieve("hlf_mentorgroups", id)).toBeNull();
    await expect(client.update("hlf_mentorgroups", id, { hlf_name: "x" })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("isolates one bad record in a bulk upsert and writes its neighbours", async () => {
    // Prepare: firstname is limited to 50 characters, so the middle record fails validation.
    const writes: BulkWrite[] = ["m-bulk-1", "m-bulk-2", "m-bulk-3"].map((key, i) => ({
      ref: key,
      kind: "upsert",
      key: { hlf_mentorid: key },
      body: { firstname: i === 1 ? "x".repeat(80) : `Bulk ${i}`, lastname: "Mentor" },
    }));

    emulator.log.clear();

    // Act
    const results = await client.writeMany("contacts", "contact", writes);

    // Assess
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { kind: "permanent" } });
    const outer = emulator.log.entries().filter((e) => !e.inBatch).map((e) => [e.method, e.path.split("/").pop(), e.status]);
    expect(outer).toEqual([["POST", "Microsoft.Dynamics.CRM.UpsertMultiple", 400], ["POST", "$batch", 200]]);
    expect(await client.retrieveByKey("contacts", { hlf_mentorid: "m-bulk-1" }, ["firstname"])).toMatchObject({ firstname: "Bulk 0" });
    expect(await client.retrieveByKey("contacts", { hlf_mentorid: "m-bulk-2" })).toBeNull();
    expect(await client.retrieveByKey("contacts", { hlf_mentorid: "m-bulk-3" }, ["firstname"])).toMatchObject({ firstname: "Bulk 2" });
  });

  it("creates and updates through bulk messages and deletes through $batch", async () => {
    const created = await client.writeMany("hlf_mentorgroups", "hlf_mentorgroup", [
      { ref: "a", kind: "create", body: { hlf_name: "Bulk A", hlf_groupcode: "g-bulk-a" } },
      { ref: "b", kind: "create", body: { hlf_name: "Bulk B", hlf_groupcode: "g-bulk-b" } },
    ]);
    const ids = created.map((r) => (r.ok ? r.id! : ""));

    const updated = await client.writeMany("hlf_mentorgroups", "hlf_mentorgroup", [{ ref: "a", kind: "update", id: ids[0], body: { hlf_region: "West" } }]);
    const deleted = await client.writeMany("hlf_mentorgroups", "hlf_mentorgroup", [{ ref: "b", kind: "delete", id: ids[1] }]);

    expect(created.every((r) => r.ok)).toBe(true);
    expect(updated).toEqual([{ ref: "a", ok: true, id: ids[0] }]);
    expect(deleted[0].ok).toBe(true);
    expect(await client.retrieve("hlf_mentorgroups", ids[0], ["hlf_region"])).toMatchObject({ hlf_region: "West" });
    expect(await client.retrieve("hlf_mentorgroups", ids[1])).toBeNull();
  });

  it("resends a bulk create whose answer was lost as upserts by id: each record exists once, no duplicate errors", async () => {
    // Prepare: the server runs the CreateMultiple, then the connection drops before its answer.
    const ids = ["0f0e0d0c-0000-4000-8000-00000000a001", "0f0e0d0c-0000-4000-8000-00000000a002", "0f0e0d0c-0000-4000-8000-00000000a003"];
    const writes: BulkWrite[] = ids.map((id, i) => ({ ref: `r${i}`, kind: "create", id, body: { hlf_name: `Lost ${i}`, hlf_groupcode: `g-lost-${i}` } }));
    emulator.faults.add({ method: "POST", path: "CreateMultiple", lostAnswer: true });
    emulator.log.clear();

    // Act
    const results = await client.writeMany("hlf_mentorgroups", "hlf_mentorgroup", writes);

    // Assess
    expect(results).toEqual(ids.map((id, i) => ({ ref: `r${i}`, ok: true, id })));
    const outer = emulator.log.entries().filter((e) => !e.inBatch).map((e) => [e.method, e.path.split("/").pop(), e.status]);
    expect(outer).toEqual([["POST", "Microsoft.Dynamics.CRM.CreateMultiple", 0], ["POST", "Microsoft.Dynamics.CRM.UpsertMultiple", 204]]);
    const rows = await collect(client.query("hlf_mentorgroups", { select: ["hlf_mentorgroupid", "hlf_name"], filter: "startswith(hlf_groupcode,'g-lost-')" }));
    expect(rows.flat().map((r) => [r.hlf_mentorgroupid, r.hlf_name]).sort()).toEqual(ids.map((id, i) => [id, `Lost ${i}`]));
  });

  it("reads changes in pages, then only the changes since the delta link, deletes included", async () => {
    // Prepare: an initial read in small pages.
    const initial = await collect(client.readChanges("hlf_mentorgroups", { select: ["hlf_name", "hlf_groupcode"], pageSize: 2 }));
    const deltaLink = initial.at(-1)!.deltaLink!;
    const newId = await client.create("hlf_mentorgroups", { hlf_name: "Delta", hlf_groupcode: "g-delta" });
    const goneId = initial.flatMap((p) => p.rows).find((r) => r.hlf_groupcode === "g-bulk-a")!.hlf_mentorgroupid as string;
    await client.delete("hlf_mentorgroups", goneId);

    // Act
    const delta = await collect(client.readChanges("hlf_mentorgroups", { select: ["hlf_name", "hlf_groupcode"], deltaLink }));

    // Assess
    expect(initial.length).toBeGreaterThan(1);
    expect(initial.slice(0, -1).every((p) => p.deltaLink === undefined)).toBe(true);
    expect(deltaLink).toContain("deltatoken");
    expect(delta.flatMap((p) => p.rows).map((r) => r.hlf_mentorgroupid)).toEqual([newId]);
    expect(delta.flatMap((p) => p.deleted)).toEqual([goneId]);
    expect(delta.at(-1)!.deltaLink).toBeDefined();
  });

  it("pages a filtered, ordered query by following nextLink", async () => {
    const pages = await collect(client.query("contacts", { select: ["hlf_mentorid"], filter: "startswith(hlf_mentorid,'m-000')", orderBy: "hlf_mentorid", pageSize: 2 }));

    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat().map((r) => r.hlf_mentorid)).toEqual(["m-0001", "m-0002", "m-0003"]);
  });

  it("reports an expired delta token as EXPIRED_DELTA_TOKEN", async () => {
    const pages = await collect(client.readChanges("contacts", { select: ["firstname"] }));
    emulator.expireDeltaTokens();

    const err = await collect(client.readChanges("contacts", { select: ["firstname"], deltaLink: pages.at(-1)!.deltaLink })).catch((e) => e);

    expect(err).toMatchObject({ code: "EXPIRED_DELTA_TOKEN" });
  });

  it("retries a 429 no earlier than Retry-After", async () => {
    emulator.faults.add({ method: "GET", path: "WhoAmI", status: 429, code: "0x80072322", message: "Number of requests exceeded the limit of 6000 over time window of 300 seconds.", retryAfterSeconds: 3 });
    const before = client.stats();
    clock.sleeps.length = 0;

    await client.whoAmI();

    expect(client.stats().throttled - before.throttled).toBe(1);
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(3_000);
  });
});
