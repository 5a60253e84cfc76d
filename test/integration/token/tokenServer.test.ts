import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientSecretCredential } from "@azure/identity";
import { createLocalJWKSet, decodeJwt, jwtVerify } from "jose";
import { startTokenServer, type TokenServer } from "../../emulators/token/index.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT = { clientId: "11111111-2222-3333-4444-555555555555", clientSecret: "s3cr3t~value" };
const RESOURCE = "https://contoso.crm4.dynamics.com";

describe("token endpoint", () => {
  let server: TokenServer;

  beforeAll(async () => {
    server = await startTokenServer({ tenantId: TENANT, clients: [CLIENT] });
  });
  afterAll(async () => {
    await server.stop();
  });

  const credential = (secret = CLIENT.clientSecret, clientId = CLIENT.clientId) =>
    new ClientSecretCredential(TENANT, clientId, secret, { authorityHost: server.authorityHost, disableInstanceDiscovery: true });

  const post = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${server.authorityHost}/${TENANT}/oauth2/v2.0/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    });

  it("issues a token to ClientSecretCredential that verifies against the JWKS with Entra-shaped claims", async () => {
    // Prepare
    const cred = credential();
    // Act
    const token = await cred.getToken(`${RESOURCE}/.default`);
    // Assess
    expect(token?.token).toBeTruthy();
    const { payload, protectedHeader } = await jwtVerify(token!.token, createLocalJWKSet(server.jwks()), {
      issuer: `${server.authorityHost}/${TENANT}/v2.0`,
      audience: RESOURCE,
    });
    expect(protectedHeader.alg).toBe("RS256");
    expect(payload).toMatchObject({ tid: TENANT, appid: CLIENT.clientId, azp: CLIENT.clientId });
    expect(typeof payload.oid).toBe("string");
    expect(payload.exp! - payload.iat!).toBe(3599);
    expect(token!.expiresOnTimestamp).toBeGreaterThan(Date.now());
  });

  it("serves a second getToken for the same scope from MSAL's cache without calling the endpoint", async () => {
    // Prepare
    const cred = credential();
    await cred.getToken("https://cache.crm.dynamics.com/.default");
    const before = server.requests;
    // Act
    const again = await cred.getToken("https://cache.crm.dynamics.com/.default");
    // Assess
    expect(again?.token).toBeTruthy();
    expect(server.requests).toBe(before);
  });

  it("fails a wrong secret with an error whose message carries AADSTS7000215", async () => {
    // Prepare
    const cred = credential("wrong-secret");
    // Act
    const attempt = cred.getToken(`${RESOURCE}/.default`);
    // Assess
    await expect(attempt).rejects.toThrow(/AADSTS7000215/);
    expect(server.tokenRequests.at(-1)).toEqual({ clientId: CLIENT.clientId, scope: `${RESOURCE}/.default`, status: 401 });
  });

  it("answers a wrong secret with Entra's invalid_client body and never echoes the secret", async () => {
    // Act
    const res = await post({ grant_type: "client_credentials", client_id: CLIENT.clientId, client_secret: "leaky-guess", scope: `${RESOURCE}/.default` });
    // Assess
    const body = (await res.json()) as any;
    expect(res.status).toBe(401);
    expect(body).toMatchObject({ error: "invalid_client", error_codes: [7000215] });
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    for (const field of ["timestamp", "trace_id", "correlation_id"]) expect(typeof body[field]).toBe("string");
    expect(JSON.stringify(body)).not.toContain("leaky-guess");
  });

  it("rejects an unknown client with unauthorized_client AADSTS700016", async () => {
    const res = await post({ grant_type: "client_credentials", client_id: "nobody", client_secret: "x", scope: `${RESOURCE}/.default` });
    const body = (await res.json()) as any;
    expect(res.status).toBe(400);
    expect(body).toMatchObject({ error: "unauthorized_client", error_codes: [700016] });
  });

  it("rejects a scope that does not end in /.default with invalid_scope AADSTS70011", async () => {
    const res = await post({ grant_type: "client_credentials", client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, scope: `${RESOURCE}/user_impersonation` });
    const body = (await res.json()) as any;
    expect(res.status).toBe(400);
    expect(body).toMatchObject({ error: "invalid_scope", error_codes: [70011] });
  });

  it("rejects a grant other than client_credentials with unsupported_grant_type", async () => {
    const res = await post({ grant_type: "password", client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, scope: `${RESOURCE}/.default` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toBe("unsupported_grant_type");
  });

  it("accepts client credentials sent with HTTP Basic and strips the trailing slash from the audience", async () => {
    // Prepare
    const basic = Buffer.from(`${encodeURIComponent(CLIENT.clientId)}:${encodeURIComponent(CLIENT.clientSecret)}`).toString("base64");
    // Act
    const res = await post({ grant_type: "client_credentials", scope: `${RESOURCE}//.default` }, { authorization: `Basic ${basic}` });
    // Assess
    const body = (await res.json()) as any;
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
    expect(decodeJwt(body.access_token).aud).toBe(RESOURCE);
  });

  it("publishes discovery whose issuer and endpoints sit on the exact authority origin", async () => {
    const res = await fetch(`${server.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`);
    const doc = (await res.json()) as any;
    expect(doc.issuer).toBe(`${server.authorityHost}/${TENANT}/v2.0`);
    expect(doc.token_endpoint).toBe(`${server.authorityHost}/${TENANT}/oauth2/v2.0/token`);
    expect(doc.jwks_uri).toBe(`${server.authorityHost}/${TENANT}/discovery/v2.0/keys`);
    expect(doc.authorization_endpoint).toBe(`${server.authorityHost}/${TENANT}/oauth2/v2.0/authorize`);
  });

  it("answers instance discovery like Entra with this host as the only alias", async () => {
    const authorize = encodeURIComponent(`${server.authorityHost}/${TENANT}/oauth2/v2.0/authorize`);
    const res = await fetch(`${server.authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorize}`);
    const doc = (await res.json()) as any;
    const host = new URL(server.authorityHost).host;
    expect(doc.tenant_discovery_endpoint).toBe(`${server.authorityHost}/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(doc.metadata[0].aliases).toEqual([host]);
  });

  it("mints an already-expired token that jose rejects", async () => {
    // Prepare
    const past = Math.floor(Date.now() / 1000) - 3600;
    // Act
    const token = await server.mintToken({ aud: RESOURCE, iat: past - 60, nbf: past - 60, exp: past });
    // Assess
    await expect(jwtVerify(token, createLocalJWKSet(server.jwks()), { audience: RESOURCE })).rejects.toThrow(/exp/);
  });

  it("signs with a key unknown to a second server, so foreign tokens fail verification", async () => {
    // Prepare
    const other = await startTokenServer({ tenantId: TENANT, clients: [] });
    try {
      const foreign = await other.mintToken({ aud: RESOURCE });
      // Act
      const attempt = jwtVerify(foreign, createLocalJWKSet(server.jwks()));
      // Assess
      await expect(attempt).rejects.toThrow();
    } finally {
      await other.stop();
    }
  });
});
