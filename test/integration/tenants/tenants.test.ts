import { TableServiceClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthApi } from "../../../shared/api/healthApi.js";
import { dataverseWebhookApi } from "../../../shared/api/dataverseWebhookApi.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { ErrorCodes } from "../../../shared/errors.js";
import { Settings } from "../../../shared/names.js";
import { createServices, type Services } from "../../../shared/runtime/services.js";
import { runCycle } from "../../../shared/runtime/syncCycle.js";
import { tenantsOf } from "../../../shared/tenants/tenants.js";
import { deleteTenantApi, getTenantApi, listTenantsApi, registerTenantApi } from "../../../shared/tenants/tenantsApi.js";
import { forTenant, routeDataverseWebhook, servicesForRequest } from "../../../shared/tenants/tenantRequest.js";
import { appWebhookApi } from "../../../shared/api/appWebhookApi.js";
import { hmacHex } from "../../../shared/api/webhookSignature.js";
import { azuriteConnectionString } from "../../support/storage.js";
import { bodyOf, startTenantStack, type EmulatedTenant, type TenantStack } from "./tenantStack.js";

const cycle = async (s: Services) => (await runCycle(s, { full: false, dryRun: false })).summary;
const contactsOf = (t: EmulatedTenant) => t.dataverse.rows("contact").map((r) => String(r.lastname ?? ""));

async function register(stack: TenantStack, t: EmulatedTenant) {
  return registerTenantApi(stack.request("POST", "tenants", {
    body: { id: t.id, tenantId: t.entraTenantId, dynamicsInstanceUrl: t.dataverse.origin, appBaseUrl: t.app.baseUrl },
  }), stack.base);
}

async function tableNames(prefix: string): Promise<string[]> {
  const svc = TableServiceClient.fromConnectionString(azuriteConnectionString(), { allowInsecureConnection: true });
  const names: string[] = [];
  for await (const t of svc.listTables()) if (t.name?.startsWith(prefix)) names.push(t.name);
  return names;
}

describe("multi-tenant: three emulated customers on one deployment, one storage account", () => {
  let stack: TenantStack;
  let a: Services, b: Services;

  beforeAll(async () => {
    stack = await startTenantStack({ tenants: ["acme", "birch"] });
    for (const t of Object.values(stack.tenants)) expect((await register(stack, t)).status).toBe(201);
    a = await tenantsOf(stack.base).services("acme");
    b = await tenantsOf(stack.base).services("birch");
  }, 60_000);
  afterAll(async () => stack?.stop());

  it("registers each tenant with its organization id from WhoAmI and lists them with the admin key only", async () => {
    const list = await listTenantsApi(stack.request("GET", "tenants"), stack.base);
    expect(list.status).toBe(200);
    expect(bodyOf(list).tenants.map((t: { id: string }) => t.id).sort()).toEqual(["acme", "birch"]);
    const acme = await getTenantApi(stack.request("GET", "tenants/acme", { params: { id: "acme" } }), stack.base);
    expect(bodyOf(acme)).toMatchObject({ id: "acme", tenantId: stack.tenants.acme.entraTenantId, status: "active", organizationId: stack.tenants.acme.dataverse.ctx.organizationId });
    expect((await listTenantsApi(stack.request("GET", "tenants", { key: null }), stack.base)).status).toBe(401);
    expect((await listTenantsApi(stack.request("GET", "tenants", { key: "wrong-key-wrong-key" }), stack.base)).status).toBe(401);
  });

  it("syncs each tenant's own data into its own environment, and no request crosses tenants", async () => {
    const summaries = { default: await cycle(stack.base), acme: await cycle(a), birch: await cycle(b) };
    for (const s of Object.values(summaries)) expect(s.status).toBe("succeeded");

    // Kari Johansen (m-0004) exists only in the apps: each environment got its own tenant's copy, and only that.
    const all = { default: stack.home, ...stack.tenants };
    for (const [id, t] of Object.entries(all)) {
      const names = contactsOf(t);
      expect(names).toContain(`Johansen ${id}`);
      for (const other of Object.keys(all).filter((o) => o !== id)) expect(names.filter((n) => n.endsWith(` ${other}`))).toEqual([]);
    }

    // Every Dataverse request each emulator received was authenticated with a token of its own Entra tenant.
    for (const t of Object.values(all)) {
      const entries = t.dataverse.log.entries();
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.filter((e) => e.status === 401)).toEqual([]);
    }
    // The token endpoint's log: each Entra tenant was asked for its own environment's scope only.
    const scopeOf = Object.fromEntries(Object.values(all).map((t) => [t.entraTenantId, `${t.dataverse.origin}/.default`]));
    for (const r of stack.token.tenantTokenRequests) expect(r.scope, `token request for tenant ${r.tenant}`).toBe(scopeOf[r.tenant]);
    expect(new Set(stack.token.tenantTokenRequests.map((r) => r.tenant))).toEqual(new Set(Object.keys(scopeOf)));
    // Each app was called with its tenant's X-Sync-Tenant only (none for the default tenant, as before).
    for (const [id, t] of Object.entries(all)) {
      const tags = new Set(t.app.requests.map((r) => r.headers["x-sync-tenant"]));
      expect(tags).toEqual(new Set([id === "default" ? undefined : id]));
    }
    // Each tenant's links are in its own tables.
    for (const s of [stack.base, a, b]) expect(await s.state.countLinks("mentors")).toBeGreaterThanOrEqual(8);
    expect((await tableNames(`${stack.tablePrefix}Tacme`)).sort()).toContain(`${stack.tablePrefix}TacmeSyncLinks`);
  });

  it("routes a Dataverse webhook by its OrganizationId, and one tenant's key cannot post into another tenant", async () => {
    const keys = {
      acme: bodyOf(await getTenantApi(stack.request("GET", "tenants/acme", { params: { id: "acme" } }), stack.base)).webhookKeys.dataverse as string,
      birch: bodyOf(await getTenantApi(stack.request("GET", "tenants/birch", { params: { id: "birch" } }), stack.base)).webhookKeys.dataverse as string,
    };
    expect(keys.acme).not.toBe(keys.birch);
    const contact = stack.tenants.birch.dataverse.rows("contact").find((r) => r.lastname === "Johansen birch")!;
    const body = {
      MessageName: "Update", PrimaryEntityName: "contact", PrimaryEntityId: contact.contactid, OrganizationId: stack.tenants.birch.dataverse.ctx.organizationId,
      InitiatingUserId: "00000000-0000-4000-8000-000000000001", UserId: "00000000-0000-4000-8000-000000000001", Depth: 1, Mode: 1, Stage: 40,
      InputParameters: [], OutputParameters: [], PreEntityImages: [], PostEntityImages: [],
    };
    const post = (key: string, query = "") => routeDataverseWebhook(
      stack.request("POST", `webhooks/dataverse?code=${encodeURIComponent(key)}${query}`, { body, key: null }), stack.base, dataverseWebhookApi);
    const queued = async (s: Services) => s.queues.recordEvents.approximateCount();
    const before = { acme: await queued(a), birch: await queued(b), home: await queued(stack.base) };

    expect((await post(keys.acme)).status).toBe(401);
    expect((await post(stack.env[Settings.dataverseWebhookKey])).status).toBe(401);
    expect((await post(keys.birch, "&tenant=acme")).status).toBe(400);
    const ok = await post(keys.birch);
    expect(ok.status, JSON.stringify(ok.jsonBody)).toBe(202);
    expect(await queued(b)).toBe(before.birch + 1);
    expect(await queued(a)).toBe(before.acme);
    expect(await queued(stack.base)).toBe(before.home);
    const [msg] = await b.queues.recordEvents.receive(1, 1000);
    expect(msg.body).toMatchObject({ tenant: "birch", mapping: "mentors" });
    await b.queues.recordEvents.complete(msg);
  });

  it("checks an app notice with the secret of the tenant it names: another tenant's secret is refused", async () => {
    const secrets = {
      acme: bodyOf(await getTenantApi(stack.request("GET", "tenants/acme", { params: { id: "acme" } }), stack.base)).webhookKeys.app as string,
      birch: bodyOf(await getTenantApi(stack.request("GET", "tenants/birch", { params: { id: "birch" } }), stack.base)).webhookKeys.app as string,
    };
    const body = JSON.stringify({ entity: "mentor", ids: ["m-0004"] });
    const notice = (secret: string) => {
      const ts = String(Math.floor(Date.now() / 1000));
      return forTenant(stack.request("POST", "webhooks/app?tenant=birch", {
        body, key: null, headers: { "x-sync-timestamp": ts, "x-sync-signature": `sha256=${hmacHex(secret, `${ts}.${body}`)}` },
      }), stack.base, appWebhookApi);
    };
    const before = await b.queues.recordEvents.approximateCount();
    expect((await notice(secrets.acme)).status).toBe(401);
    expect((await notice(stack.env[Settings.appWebhookSecret])).status).toBe(401);
    expect(await b.queues.recordEvents.approximateCount()).toBe(before);
    expect((await notice(secrets.birch)).status).toBe(202);
    const [msg] = await b.queues.recordEvents.receive(1, 1000);
    expect(msg.body).toMatchObject({ tenant: "birch", id: "m-0004" });
    await b.queues.recordEvents.complete(msg);
  });

  it("a tenant whose consent is revoked fails alone with CONSENT_REQUIRED, shows unhealthy, and notifies", async () => {
    stack.token.revokeConsent(stack.tenants.acme.entraTenantId);
    try {
      const [acme, birch, home] = [await cycle(a), await cycle(b), await cycle(stack.base)];
      expect(acme.status).toBe("failed");
      expect(acme.mappings.map((m) => m.error ?? "").join(" ")).toContain(ErrorCodes.ConsentRequired);
      expect(acme.mappings.map((m) => m.error ?? "").join(" ")).toContain(`/${stack.tenants.acme.entraTenantId}/adminconsent?client_id=${stack.clientId}`);
      expect(birch.status).toBe("succeeded");
      expect(home.status).toBe("succeeded");

      const health = (s: Services) => healthApi(s, { cacheMs: 0 });
      expect((await health(a)).status).toBe(503);
      expect((await health(b)).status).toBe(200);
      expect((await health(stack.base)).status).toBe(200);
      const routed = await servicesForRequest(stack.request("GET", "health?tenant=acme"), stack.base);
      expect(routed).toBe(a);

      expect(stack.notices.filter((n) => n.event === "run_failed").map((n) => n.tenant)).toEqual(expect.arrayContaining(["acme"]));
      expect(stack.notices.filter((n) => n.event === "run_failed" && n.tenant !== "acme")).toEqual([]);
      const listed = bodyOf(await listTenantsApi(stack.request("GET", "tenants"), stack.base)).tenants as { id: string; status: string }[];
      expect(Object.fromEntries(listed.map((t) => [t.id, t.status]))).toEqual({ acme: "consent_required", birch: "active" });
    } finally {
      stack.token.grantConsent(stack.tenants.acme.entraTenantId);
    }
  });

  it("a tenant whose application user is deleted after registration fails alone with APPLICATION_USER_MISSING", async () => {
    stack.tenants.birch.dataverse.setApplicationUser(stack.clientId, false);
    try {
      const [birch, acme] = [await cycle(b), await cycle(a)];
      expect(birch.status).toBe("failed");
      expect(birch.mappings.map((m) => m.error ?? "").join(" ")).toContain("0x80072560");
      const [run] = await b.state.listRuns({ limit: 1 });
      expect(run.errorCode).toBe(ErrorCodes.ApplicationUserMissing);
      expect(acme.status).toBe("succeeded");
    } finally {
      stack.tenants.birch.dataverse.setApplicationUser(stack.clientId, true);
    }
    expect((await cycle(b)).status).toBe("succeeded");
  });

  it("DELETE ?purge=true removes that tenant's state and nobody else's", async () => {
    const birchTables = await tableNames(`${stack.tablePrefix}Tbirch`);
    expect(birchTables.length).toBeGreaterThan(5);
    const links = { acme: await a.state.countLinks("mentors"), home: await stack.base.state.countLinks("mentors") };
    const homeTables = (await tableNames(stack.tablePrefix)).filter((n) => !n.startsWith(`${stack.tablePrefix}T`));
    const del = await deleteTenantApi(stack.request("DELETE", "tenants/birch?purge=true", { params: { id: "birch" } }), stack.base);
    expect(del.status).toBe(204);
    expect(await tableNames(`${stack.tablePrefix}Tbirch`)).toEqual([]);
    expect((await tableNames(`${stack.tablePrefix}Tacme`)).length).toBeGreaterThan(5);
    expect(await a.state.countLinks("mentors")).toBe(links.acme);
    expect(await stack.base.state.countLinks("mentors")).toBe(links.home);
    expect((await tableNames(stack.tablePrefix)).filter((n) => !n.startsWith(`${stack.tablePrefix}T`))).toEqual(homeTables);
    expect((await getTenantApi(stack.request("GET", "tenants/birch", { params: { id: "birch" } }), stack.base)).status).toBe(404);
    expect((await deleteTenantApi(stack.request("DELETE", "tenants/birch", { params: { id: "birch" } }), stack.base)).status).toBe(404);
    expect((await servicesForRequest(stack.request("GET", "sync/runs?tenant=birch"), stack.base) as { status: number }).status).toBe(404);
  });
});

describe("tenant registration checks access for real", () => {
  let stack: TenantStack;
  beforeAll(async () => {
    stack = await startTenantStack({ tenants: ["nocon", "nouser"], withoutApplicationUser: ["nouser"] });
  }, 60_000);
  afterAll(async () => stack?.stop());

  it("answers 424 consent_required with the admin-consent URL when the tenant never consented (AADSTS700016)", async () => {
    stack.token.revokeConsent(stack.tenants.nocon.entraTenantId);
    const res = await register(stack, stack.tenants.nocon);
    expect(res.status).toBe(424);
    expect(bodyOf(res)).toMatchObject({
      id: "nocon", status: "consent_required",
      adminConsentUrl: `${stack.token.authorityHost}/${stack.tenants.nocon.entraTenantId}/adminconsent?client_id=${stack.clientId}`,
    });
    expect(bodyOf(res).message).toContain("AADSTS700016");
    expect(bodyOf(await listTenantsApi(stack.request("GET", "tenants"), stack.base)).tenants).toEqual([]);
  });

  it("answers 424 application_user_missing saying what to create when WhoAmI gets 0x80072560", async () => {
    const res = await register(stack, stack.tenants.nouser);
    expect(res.status).toBe(424);
    expect(bodyOf(res)).toMatchObject({ id: "nouser", status: "application_user_missing" });
    expect(bodyOf(res).message).toMatch(/0x80072560.*Application users > New app user/s);
    expect(bodyOf(res).message).toContain(stack.clientId);
  });

  it("refuses bad ids, the reserved id, duplicates and callers without the admin key", async () => {
    const t = stack.tenants.nouser;
    stack.tenants.nouser.dataverse.setApplicationUser(stack.clientId, true);
    const base = { tenantId: t.entraTenantId, dynamicsInstanceUrl: t.dataverse.origin };
    for (const id of ["Acme", "a", "acme-1", "x".repeat(25), "default", "1abc", "acme;drop"]) {
      const res = await registerTenantApi(stack.request("POST", "tenants", { body: { id, ...base } }), stack.base);
      expect(res.status, id).toBe(400);
    }
    expect((await registerTenantApi(stack.request("POST", "tenants", { body: { id: "nouser", ...base }, key: null }), stack.base)).status).toBe(401);
    expect((await register(stack, t)).status).toBe(201);
    expect((await register(stack, t)).status).toBe(409);
  });
});

describe("the storage guard", () => {
  it("refuses to run a deployment whose storage holds another Dataverse environment's state, naming both", async () => {
    const stack = await startTenantStack({ tenants: ["other"] });
    try {
      const other = stack.tenants.other.dataverse.origin;
      const env = { ...stack.env, [Settings.dynamicsInstanceUrl]: other, [Settings.dynamicsTenantId]: stack.tenants.other.entraTenantId };
      const second = createServices({ settings: loadSettings(env), config: stack.base.config, queues: "memory", tablePrefix: stack.tablePrefix, logger: stack.base.logger });
      await expect(second).rejects.toMatchObject({ code: ErrorCodes.StorageEnvironmentMismatch });
      await expect(second).rejects.toThrow(new RegExp(`belongs to the Dataverse environment ${stack.home.dataverse.origin}.*configured for ${other}`));
      // The same environment again (another instance of the same deployment) runs.
      await expect(createServices({ settings: stack.base.settings, config: stack.base.config, queues: "memory", tablePrefix: stack.tablePrefix, logger: stack.base.logger })).resolves.toBeDefined();
    } finally {
      await stack.stop();
    }
  });
});
