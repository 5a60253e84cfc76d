/**
 * What the example App Sync API server (examples/app-sync-server) does beyond the shared contract
 * (appSyncContract.test.ts): its own entities and their wire formats, exact decimals, and the
 * product's own App Sync API client against it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { entities } from "../../../examples/app-sync-server/src/entities.js";
import { startAppSyncServer, type RunningServer } from "../../../examples/app-sync-server/src/server.js";
import { MemoryStore } from "../../../examples/app-sync-server/src/store.js";
import { createAppClient } from "../../../shared/app/appClient.js";
import { ExactNumber } from "../../../shared/http/exactJson.js";
import type { AppClient, AppChangePage } from "../../../shared/ports.js";
import { call } from "./appHttp.js";

const KEY = "example-key-0123456789";
const DV_ID = "1d6f0b52-7a39-4b8e-9f10-3c2b1a0e9d77";
const SEED = { site: [{ id: "site-1", data: { name: "Hydro North" } }] };
const asset = (extra: Record<string, unknown> = {}) => ({ assetNumber: "A-100", name: "Pump 1", siteId: "site-1", inService: true, ...extra });

describe("example App Sync API server", () => {
  let server: RunningServer;
  let client: AppClient;
  const api = (method: string, path: string, body?: unknown) => call(server.baseUrl, KEY, method, path, body);

  beforeEach(async () => {
    server = await startAppSyncServer({ apiKey: KEY, entities, seed: SEED });
    client = createAppClient({ baseUrl: server.baseUrl, apiKey: KEY });
  });
  afterEach(async () => {
    await server.stop();
  });

  describe("wire formats of its entities", () => {
    it("accepts every field type in the form the sync writes it", async () => {
      const data = asset({
        purchasePrice: 125000.5, ratedPowerKw: 250.1234, installedOn: "2021-04-30", lastInspectedAt: "2026-11-25T03:10:44Z",
        category: "pump", certifications: ["atex", "iso9001"],
      });
      const res = await api("POST", "/sync/asset", { data, dataverseId: DV_ID });
      expect(res.status).toBe(201);
      expect((await api("GET", `/sync/asset/${res.body.id}`)).body.data).toEqual(data);
    });

    it.each([
      [{ purchasePrice: "125000.50" }, "purchasePrice must be a number"],
      [{ purchasePrice: 1.005 }, "purchasePrice must have at most 2 digits after the point"],
      [{ lastInspectedAt: "2026-11-25T03:10:44" }, "lastInspectedAt must be an ISO 8601 date-time with an offset"],
      [{ installedOn: "2021-02-29" }, "installedOn must be a date (YYYY-MM-DD)"],
      [{ category: 100000000 }, "category must be one of pump, turbine, transformer"],
      [{ certifications: "atex" }, "certifications must be an array of iso9001, iso14001, atex"],
      [{ certifications: ["atex", "ce"] }, "certifications must be an array of iso9001, iso14001, atex"],
      [{ siteId: "site-9" }, "siteId refers to site site-9, which does not exist"],
      [{ inService: null }, "inService must not be null"],
    ])("rejects %j with 422 naming the field, and stores nothing", async (extra, message) => {
      const res = await api("POST", "/sync/asset", { data: asset(extra) });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ error: { code: "VALIDATION", message } });
      expect((await api("GET", "/sync/asset/changes")).body.records).toEqual([]);
    });

    it("takes a status as one of its keys, not as Dataverse's numbers", async () => {
      const order = { number: "PO-1", total: 99.95, quantity: 3 };
      expect((await api("POST", "/sync/purchaseOrder", { data: { ...order, status: "submitted" } })).status).toBe(201);
      const res = await api("POST", "/sync/purchaseOrder", { data: { ...order, status: 100001 } });
      expect(res.body.error.message).toBe("status must be one of draft, submitted, canceled, fulfilled");
    });

    it("answers 404 naming the entities it serves to an entity the mapping has but the app does not", async () => {
      const res = await api("GET", "/sync/mentor/changes");
      expect(res.status).toBe(404);
      expect(res.body.error.message).toBe('this app serves no entity "mentor"; it serves site, asset, purchaseOrder');
    });
  });

  describe("exact decimals", () => {
    it("keeps every digit of a decimal a double cannot hold, as the sync writes it", async () => {
      // Prepare: the product's client writes an ExactNumber digit for digit.
      const created = await client.create("asset", asset({ ratedPowerKw: new ExactNumber("9876543210987.1234") }), DV_ID);
      // Act
      const raw = await fetch(`${server.baseUrl}/sync/asset/${created.id}`, { headers: { authorization: `Bearer ${KEY}` } });
      const read = await client.get("asset", created.id);
      // Assess
      expect(await raw.text()).toContain('"ratedPowerKw":9876543210987.1234');
      expect(read!.data!.ratedPowerKw).toBeInstanceOf(ExactNumber);
      expect(String(read!.data!.ratedPowerKw)).toBe("9876543210987.1234");
    });
  });

  describe("with the sync's own App Sync API client", () => {
    it("pages through the change feed to the end and resumes from the stored cursor", async () => {
      // Prepare
      for (let n = 1; n <= 5; n++) await client.create("asset", asset({ assetNumber: `A-${n}` }), `00000000-0000-4000-8000-00000000000${n}`);
      // Act
      const pages: AppChangePage[] = [];
      for await (const page of client.changes("asset", undefined, 2)) pages.push(page);
      await client.update("asset", pages[0].records[0].id, { name: "Pump 1b" });
      const after: AppChangePage[] = [];
      for await (const page of client.changes("asset", pages.at(-1)!.nextCursor, 2)) after.push(page);
      // Assess
      expect(pages.map((p) => p.records.length)).toEqual([2, 2, 1]);
      expect(after.flatMap((p) => p.records.map((r) => r.data?.name))).toEqual(["Pump 1b"]);
    });

    it("creates once per dataverseId, updates with If-Match, and refuses a stale version", async () => {
      // Prepare
      const first = await client.create("asset", asset(), DV_ID);
      const again = await client.create("asset", asset(), DV_ID);
      // Act
      const updated = await client.update("asset", first.id, { name: "Pump 2" }, { ifMatch: first.version, dataverseId: DV_ID });
      const stale = client.update("asset", first.id, { name: "Pump 3" }, { ifMatch: first.version });
      // Assess
      expect(again).toEqual(first);
      expect(updated.version).not.toBe(first.version);
      await expect(stale).rejects.toMatchObject({ status: 412 });
      expect((await client.get("asset", first.id))!.data!.name).toBe("Pump 2");
    });

    it("deletes a record into a tombstone the feed shows", async () => {
      const created = await client.create("asset", asset(), DV_ID);
      expect(await client.delete("asset", created.id)).toBe(true);
      expect(await client.delete("asset", created.id)).toBe(false);
      const records = [];
      for await (const page of client.changes("asset")) records.push(...page.records);
      expect(records).toEqual([expect.objectContaining({ id: created.id, deleted: true, data: null })]);
    });
  });

  it("refuses to start on seed records it would not accept, naming each", async () => {
    const seed = {
      site: [{ id: "s-1", data: { name: null } }],
      asset: [{ id: "a-1", data: { assetNumber: "A-1", inService: true, siteId: "s-9" } }, { id: "", data: {} }],
      pump: [],
    };
    await expect(startAppSyncServer({ apiKey: KEY, entities, seed })).rejects.toThrow([
      "the seed records are not valid:",
      "  - site[0] (s-1): name must not be null",
      "  - asset[0] (a-1): siteId refers to site s-9, which does not exist",
      "  - asset[1]: id must be a non-empty string",
      "  - pump: not an entity this server defines (site, asset, purchaseOrder)",
    ].join("\n"));
  });

  it("serves a database adapter given as the store instead of the in-memory one", async () => {
    // Prepare: a store the routes did not build (as your database adapter would be).
    const store = new MemoryStore(() => Date.parse("2026-03-01T00:00:00Z"), { site: [{ id: "db-site", data: { name: "From the database" } }] });
    const own = await startAppSyncServer({ apiKey: KEY, entities, store });
    try {
      // Act
      const res = await call(own.baseUrl, KEY, "GET", "/sync/site/db-site");
      // Assess
      expect(res.body).toMatchObject({ id: "db-site", updatedAt: "2026-03-01T00:00:00.000Z", data: { name: "From the database" } });
    } finally {
      await own.stop();
    }
  });

  describe("src/main.ts", () => {
    const ROOT = new URL("../../../", import.meta.url).pathname;
    const start = (env: Record<string, string>) => {
      const child = spawn(process.execPath, ["scripts/node22.mjs", "--import", "tsx", "examples/app-sync-server/src/main.ts"], { cwd: ROOT, env: { ...process.env, PORT: "0", ...env } });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
      const listening = new Promise<string>((resolve, reject) => {
        child.stdout.on("data", () => { const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]); });
        void exited.then(() => reject(new Error(`exited: ${out}`)));
      });
      listening.catch(() => undefined); // a run that is meant to exit is never awaited for listening
      return { child, exited, listening, output: () => out };
    };

    it("serves the records of SEED_FILE with the key of APP_API_KEY and stops on SIGTERM", async () => {
      const dir = mkdtempSync(join(tmpdir(), "example-seed-"));
      try {
        writeFileSync(join(dir, "seed.json"), JSON.stringify({ site: [{ id: "s-1", data: { name: "North" } }] }));
        const run = start({ APP_API_KEY: KEY, SEED_FILE: join(dir, "seed.json") });
        const baseUrl = await run.listening;
        const res = await call(baseUrl, KEY, "GET", "/sync/site/s-1");
        run.child.kill("SIGTERM");
        expect(res.body).toMatchObject({ id: "s-1", data: { name: "North" } });
        expect(await run.exited).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("exits 1 naming APP_API_KEY when it is not set", async () => {
      const run = start({ APP_API_KEY: "" });
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain("APP_API_KEY is required");
    });
  });
});
