import type { AccessToken, TokenCredential } from "@azure/identity";
import { ClientSecretCredential } from "@azure/identity";
import { describe, expect, it } from "vitest";
import { authorityOptions, createDataverseCredential } from "../../../shared/dataverse/createDataverseCredential.js";
import { TokenProvider } from "../../../shared/dataverse/tokenProvider.js";
import { FakeClock } from "../http/fakes.js";

class CountingCredential implements TokenCredential {
  calls: string[] = [];
  constructor(private readonly clock: FakeClock, private readonly lifetimeMs = 3_600_000) {}
  async getToken(scope: string | string[]): Promise<AccessToken> {
    this.calls.push(String(scope));
    await Promise.resolve();
    return { token: `t${this.calls.length}`, expiresOnTimestamp: this.clock.now() + this.lifetimeMs };
  }
}

describe("TokenProvider", () => {
  it("caches the token for the instance's .default scope", async () => {
    const clock = new FakeClock();
    const cred = new CountingCredential(clock);
    const tokens = TokenProvider.forInstance(cred, "https://org.crm4.dynamics.com/", { clock });

    const a = await tokens.getToken();
    const b = await tokens.getToken();

    expect([a, b]).toEqual(["t1", "t1"]);
    expect(cred.calls).toEqual(["https://org.crm4.dynamics.com/.default"]);
  });

  it("refreshes five minutes before expiry", async () => {
    const clock = new FakeClock();
    const cred = new CountingCredential(clock);
    const tokens = new TokenProvider(cred, { scope: "s", clock });
    await tokens.getToken();

    clock.time += 3_600_000 - 5 * 60_000 - 1;
    const stillCached = await tokens.getToken();
    clock.time += 1;
    const refreshed = await tokens.getToken();

    expect(stillCached).toBe("t1");
    expect(refreshed).toBe("t2");
  });

  it("shares one refresh among concurrent callers", async () => {
    const clock = new FakeClock();
    const cred = new CountingCredential(clock);
    const tokens = new TokenProvider(cred, { scope: "s", clock });

    const all = await Promise.all(Array.from({ length: 10 }, () => tokens.getToken()));

    expect(new Set(all)).toEqual(new Set(["t1"]));
    expect(cred.calls).toHaveLength(1);
  });

  it("turns a credential failure into an AUTH error without the secret", async () => {
    const secret = "s3cr3t-value";
    const failing: TokenCredential = { getToken: async () => { throw new Error(`AADSTS7000215: Invalid client secret provided ${secret}.\nTrace ID: abc`); } };
    const tokens = new TokenProvider(failing, { scope: "s", clientId: "app-1", authority: "https://login.microsoftonline.com", secrets: [secret] });

    const err = await tokens.getToken().catch((e) => e);

    expect(err).toMatchObject({ kind: "auth", code: "AUTH" });
    expect(err.message).toBe("Could not obtain a Dataverse token for client app-1 from https://login.microsoftonline.com: AADSTS7000215: Invalid client secret provided ***.");
  });

  it("names the resource the token was for when one is given (Finance & Operations), else Dataverse", async () => {
    const failing: TokenCredential = { getToken: async () => { throw new Error("AADSTS500011: The resource principal was not found."); } };
    const finops = new TokenProvider(failing, { scope: "https://fo.example/.default", resource: "Finance & Operations (https://fo.example)", clientId: "app-1" });
    const dataverse = new TokenProvider(failing, { scope: "s", clientId: "app-1" });

    const finopsError = await finops.getToken().catch((e) => e);
    const dataverseError = await dataverse.getToken().catch((e) => e);

    expect(finopsError.message).toBe("Could not obtain a Finance & Operations (https://fo.example) token for client app-1: AADSTS500011: The resource principal was not found.");
    expect(dataverseError.message).toBe("Could not obtain a Dataverse token for client app-1: AADSTS500011: The resource principal was not found.");
  });

  it("tries again after a failed refresh", async () => {
    let n = 0;
    const flaky: TokenCredential = { getToken: async () => { if (++n === 1) throw new Error("down"); return { token: "ok", expiresOnTimestamp: Date.now() + 3_600_000 }; } };
    const tokens = new TokenProvider(flaky, { scope: "s" });

    await expect(tokens.getToken()).rejects.toMatchObject({ code: "AUTH" });
    await expect(tokens.getToken()).resolves.toBe("ok");
  });
});

describe("createDataverseCredential", () => {
  const base = { tenantId: "11111111-1111-1111-1111-111111111111", clientId: "22222222-2222-2222-2222-222222222222" };

  it("builds a client-secret credential by default when a secret is given", () => {
    expect(createDataverseCredential({ ...base, clientSecret: "x" })).toBeInstanceOf(ClientSecretCredential);
  });

  it("rejects a non-https authority host, naming the setting", () => {
    expect(() => createDataverseCredential({ ...base, clientSecret: "x", authorityHost: "http://127.0.0.1:9999" })).toThrow(/DYNAMICS_AUTHORITY_HOST must use https/);
  });

  it("asks for a secret or certificate when neither is configured", () => {
    expect(() => createDataverseCredential(base)).toThrow(/DYNAMICS_CLIENT_SECRET/);
  });

  it("disables instance discovery only for authorities that are not Microsoft hosts", () => {
    expect(authorityOptions("https://login.microsoftonline.com/")).toEqual({ authorityHost: "https://login.microsoftonline.com" });
    expect(authorityOptions("https://login.microsoftonline.us")).toEqual({ authorityHost: "https://login.microsoftonline.us" });
    expect(authorityOptions("https://login.partner.microsoftonline.cn")).toEqual({ authorityHost: "https://login.partner.microsoftonline.cn" });
    expect(authorityOptions("https://127.0.0.1:8443")).toEqual({ authorityHost: "https://127.0.0.1:8443", disableInstanceDiscovery: true });
    expect(authorityOptions("https://login.microsoftonline.com.evil.example")).toMatchObject({ disableInstanceDiscovery: true });
  });
});
