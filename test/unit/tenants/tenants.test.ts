import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createAppClient } from "../../../shared/app/appClient.js";
import { Tables } from "../../../shared/names.js";
import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";
import { FairShare } from "../../../shared/tenants/fairShare.js";
import { DEFAULT_TENANT, tenantIdProblem, tenantOfMessage, tenantTablePrefix } from "../../../shared/tenants/tenantIds.js";
import { tenantScoped } from "../../../shared/tenants/tenantScope.js";
import { tenantWebhooks } from "../../../shared/tenants/webhookKeys.js";
import { adminConsentUrl, isApplicationUserMissing, isConsentMissing } from "../../../shared/tenants/consent.js";

const clock = { now: () => 0, sleep: async () => undefined };

describe("tenant ids", () => {
  it.each(["acme", "abc", "a1b2c3", "x".repeat(24)])("accepts %s", (id) => expect(tenantIdProblem(id)).toBeUndefined());
  it.each(["ab", "Acme", "1abc", "acme-1", "acme_1", "x".repeat(25), "", "acme/../x", "acme'or'1"])("refuses %j", (id) => {
    expect(tenantIdProblem(id)).toMatch(/3 to 24 lower-case letters and digits/);
  });

  it("keeps the default tenant on today's table names and gives every other tenant a prefix of its own", () => {
    expect(tenantTablePrefix(DEFAULT_TENANT)).toBe("");
    expect(tenantTablePrefix("acme")).toBe("Tacme");
    expect(() => tenantTablePrefix("Bad-Id")).toThrow(/tenant id/);
  });

  it("never gives two tenants the same table name (names compare without case)", () => {
    const ids = [DEFAULT_TENANT, "abc", "abcsync", "abcsyncruns", "sync", "syncruns", "tabc", "abct", "abcsynclinks"];
    const names = ids.flatMap((id) => Object.values(Tables).map((t) => `${tenantTablePrefix(id)}${t}`.toLowerCase()));
    expect(new Set(names).size).toBe(names.length);
  });

  it("reads a message's tenant, and a message without one (written before tenants) as default", () => {
    expect(tenantOfMessage({ runId: "r" })).toBe(DEFAULT_TENANT);
    expect(tenantOfMessage({ tenant: "acme" })).toBe("acme");
    expect(tenantOfMessage("text")).toBe(DEFAULT_TENANT);
  });
});

describe("what a tenant's services add to the shared parts", () => {
  it("tags every message a registered tenant sends, and leaves the default tenant's untouched", async () => {
    const raw = new MemoryWorkQueue<{ n: number }>("sync-runs", clock);
    await tenantScoped("acme").queue(raw).send({ n: 1 });
    await tenantScoped(DEFAULT_TENANT).queue(raw).send({ n: 2 });
    const got = await raw.receive(8, 1000);
    expect(got.map((m) => m.body)).toEqual([{ n: 1, tenant: "acme" }, { n: 2 }]);
    expect(tenantScoped("acme").queue(raw).name).toBe("sync-runs");
  });

  it("sends X-Sync-Tenant on a registered tenant's app calls only", async () => {
    const seen: (string | null)[] = [];
    const fetch = (async (_url: unknown, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get("x-sync-tenant"));
      return new Response(JSON.stringify({ id: "1", version: "1", fields: {} }), { headers: { "content-type": "application/json" } });
    }) as typeof globalThis.fetch;
    for (const tenant of ["acme", DEFAULT_TENANT]) {
      const app = createAppClient({ baseUrl: "http://app", apiKey: "k", fetch, headers: tenantScoped(tenant).appHeaders() });
      await app.get("mentor", "1");
    }
    expect(seen).toEqual(["acme", null]);
  });

  it("puts the tenant on a registered tenant's log lines, events and metrics, and nothing on the default tenant's", () => {
    const lines: unknown[] = [];
    const seen: unknown[] = [];
    const logger = { debug: () => undefined, info: (m: string, p?: object) => void lines.push([m, p]), warn: () => undefined, error: () => undefined };
    const telemetry = { event: (n: string, p: object) => void seen.push([n, p]), metric: (n: string, v: number, p?: object) => void seen.push([n, v, p]) };
    tenantScoped("acme").logger(logger).info("run finished", { mapping: "m" });
    tenantScoped("acme").telemetry(telemetry).event("SyncRunCompleted", { mapping: "m" });
    tenantScoped("acme").telemetry(telemetry).metric("sync_records_written", 3, { mapping: "m" });
    expect(tenantScoped(DEFAULT_TENANT).logger(logger)).toBe(logger);
    expect(tenantScoped(DEFAULT_TENANT).telemetry(telemetry)).toBe(telemetry);
    expect(lines).toEqual([["run finished", { tenant: "acme", mapping: "m" }]]);
    expect(seen).toEqual([["SyncRunCompleted", { tenant: "acme", mapping: "m" }], ["sync_records_written", 3, { tenant: "acme", mapping: "m" }]]);
  });

  it("derives webhook keys per tenant from the deployment's: different for each tenant, stable, none without a base key", () => {
    const base = { dataverseKey: "k".repeat(32), appSecret: "s".repeat(32), dataverseHmacSecret: "h".repeat(32) };
    const a = tenantWebhooks(base, "acme");
    const b = tenantWebhooks(base, "birch");
    expect(a.dataverseKey).not.toBe(b.dataverseKey);
    expect(a.appSecret).not.toBe(b.appSecret);
    expect(a.dataverseKey).not.toBe(base.dataverseKey);
    expect(tenantWebhooks(base, "acme")).toEqual(a);
    expect(a.dataverseHmacSecret).toBeUndefined();
    expect(tenantWebhooks({}, "acme")).toEqual({});
  });
});

describe("consent and application-user signatures", () => {
  it("recognises Entra's consent answers and Dataverse's not-a-member answer", () => {
    expect(isConsentMissing(new Error("unauthorized_client: AADSTS700016: Application with identifier 'x' was not found"))).toBe(true);
    expect(isConsentMissing(new Error("AADSTS65001: The user or administrator has not consented"))).toBe(true);
    expect(isConsentMissing(new Error("AADSTS7000215: Invalid client secret provided"))).toBe(false);
    expect(isApplicationUserMissing(new Error("403 0x80072560 The user is not a member of the organization."))).toBe(true);
    expect(isApplicationUserMissing(new Error("403 0x80040220 missing privilege"))).toBe(false);
    expect(adminConsentUrl("https://login.microsoftonline.com/", "contoso.onmicrosoft.com", "id-1"))
      .toBe("https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?client_id=id-1");
  });
});

describe("fair share of an instance's workers", () => {
  it("caps a tenant at half the host batch while several tenants exist, and never with one", () => {
    const fair = new FairShare();
    expect(fair.cap).toBe(4);
    for (let i = 0; i < 4; i++) expect(fair.tryEnter("big", true)).toBe(true);
    expect(fair.tryEnter("big", true)).toBe(false);
    expect(fair.tryEnter("small", true)).toBe(true);
    fair.leave("big");
    expect(fair.tryEnter("big", true)).toBe(true);
    const single = new FairShare();
    for (let i = 0; i < 8; i++) expect(single.tryEnter(DEFAULT_TENANT, false)).toBe(true);
  });

  it("a tenant's share is at most host.json's newBatchThreshold: one tenant's messages alone never stop the host fetching a queue", () => {
    // The host fetches a queue's next batch only when those running fall to newBatchThreshold.
    const queues = JSON.parse(readFileSync("host.json", "utf8")).extensions.queues;

    const share = new FairShare().cap;

    expect(share).toBeGreaterThanOrEqual(1);
    expect(share).toBeLessThanOrEqual(queues.newBatchThreshold);
  });

  it("lets a message delivered before run over the cap, so its failed attempts still count toward poison", () => {
    const fair = new FairShare();
    for (let i = 0; i < fair.cap; i++) expect(fair.tryEnter("big", true)).toBe(true);

    const firstDelivery = fair.tryEnter("big", true, 1);
    const retry = fair.tryEnter("big", true, 2);

    expect(firstDelivery).toBe(false);
    expect(retry).toBe(true);
  });
});
