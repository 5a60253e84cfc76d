import { generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator } from "../../emulators/dataverse/testSupport.js";

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator({ auth: undefined });
});
afterAll(async () => {
  await t.emulator.stop();
});

async function call(token: string | undefined, path = "WhoAmI"): Promise<Response> {
  return fetch(`${t.emulator.serviceRoot}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
}

describe("authentication", () => {
  it("answers 401 with a WWW-Authenticate challenge naming the authority and resource when no token is sent", async () => {
    const res = await call(undefined);

    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer authorization_uri=https://login.microsoftonline.com/common/oauth2/authorize, resource_id=${t.emulator.origin}`);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("RequestIsNotAuthenticated");
  });

  it("answers 401 ExpiredOAuthToken for an expired token", async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const res = await call(await t.token({ iat: past, nbf: past, exp: past + 60 }));

    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("0x80041d52");
  });

  it("answers 401 for a token meant for another resource", async () => {
    const res = await call(await t.token({ aud: "https://other.crm.dynamics.com" }));

    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("audience");
  });

  it("answers 401 for a token signed by a key the token endpoint does not publish", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    const res = await call(await t.token({}, { key: privateKey }));

    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("InvalidAuthTicket");
  });

  it("accepts the audience with a trailing slash", async () => {
    const res = await call(await t.token({ aud: `${t.emulator.origin}/` }));

    expect(res.status).toBe(200);
  });

  it("maps the client id to a stable application user that WhoAmI reports and writes are attributed to", async () => {
    const token = await t.token({ appid: "sync-app-b", azp: "sync-app-b" });
    const who = (await (await call(token)).json()) as Record<string, string>;
    const created = await fetch(`${t.emulator.serviceRoot}contacts`, {
      method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ firstname: "ByB" }),
    });
    const id = /\(([^)]+)\)$/.exec(created.headers.get("odata-entityid")!)![1];

    expect(who.UserId).toBe(t.emulator.userIdFor("sync-app-b"));
    expect(who).toMatchObject({ BusinessUnitId: t.emulator.ctx.businessUnitId, OrganizationId: t.emulator.ctx.organizationId });
    expect(t.emulator.row("systemuser", who.UserId)).toMatchObject({ fullname: "# sync-app-b" });
    expect(t.emulator.row("contact", id)).toMatchObject({ _createdby_value: who.UserId, _modifiedby_value: who.UserId });
  });

  it("answers WhoAmI() with parentheses too", async () => {
    const res = await t.api("WhoAmI()");

    expect(res.status).toBe(200);
    expect(((await res.json()) as { UserId: string }).UserId).toBe(t.emulator.userIdFor(t.clientId));
  });
});

describe("pipeline", () => {
  it("applies a scripted fault after authentication, then serves normally", async () => {
    t.emulator.faults.add({ method: "GET", path: "contacts", status: 503, code: "0x8004A001", message: "busy", retryAfterSeconds: 2 });

    const faulted = await t.api("contacts?$top=1");
    const normal = await t.api("contacts?$top=1");

    expect(faulted.status).toBe(503);
    expect(faulted.headers.get("retry-after")).toBe("2");
    expect(((await faulted.json()) as { error: { code: string } }).error.code).toBe("0x8004A001");
    expect(normal.status).toBe(200);
  });

  it("closes the connection for a reset fault", async () => {
    t.emulator.faults.add({ path: "hlf_mentorgroups", reset: true });

    await expect(t.api("hlf_mentorgroups")).rejects.toThrow();
  });

  it("adds the service-protection headers and OData-Version to responses", async () => {
    const res = await t.api("hlf_mentorgroups");

    expect(res.headers.get("odata-version")).toBe("4.0");
    expect(res.headers.get("x-ms-dop-hint")).toMatch(/^\d+$/);
    expect(res.headers.get("x-ms-ratelimit-burst-remaining-xrm-requests")).toMatch(/^\d+$/);
  });

  it("records requests in the log without the bearer token", async () => {
    t.emulator.log.clear();

    await t.api("contacts?$select=firstname&$top=1");

    const [entry] = t.emulator.log.entries();
    expect(entry).toMatchObject({ method: "GET", path: "/api/data/v9.2/contacts?$select=firstname&$top=1", status: 200, inBatch: false,
      userId: t.emulator.userIdFor(t.clientId) });
    expect(entry.headers.authorization).toContain("redacted");
    expect(entry.headers.authorization).not.toMatch(/eyJ/);
  });

  it("routes a bound bulk action to the bulk handler", async () => {
    const res = await t.api("contacts/Microsoft.Dynamics.CRM.CreateMultiple", { method: "POST", body: {
      Targets: [
        { "@odata.type": "Microsoft.Dynamics.CRM.contact", firstname: "Bulk1", hlf_mentorid: "m-bulk1" },
        { "@odata.type": "Microsoft.Dynamics.CRM.contact", firstname: "Bulk2", hlf_mentorid: "m-bulk2" },
      ] } });

    expect(res.status).toBe(200);
    const { Ids } = (await res.json()) as { Ids: string[] };
    expect(Ids.map((id) => t.emulator.row("contact", id)?.hlf_mentorid)).toEqual(["m-bulk1", "m-bulk2"]);
  });
});
