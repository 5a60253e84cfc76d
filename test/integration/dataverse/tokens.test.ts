import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { createDataverseTokenProvider } from "../../../shared/dataverse/createDataverseCredential.js";
import { startTokenServer, type TokenServer } from "../../emulators/token/index.js";

const tenantId = "3f2b6a8e-1c4d-4e5f-8a9b-0c1d2e3f4a5b";
const clientId = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d";
const clientSecret = "integration-secret-value";
const instanceUrl = "http://127.0.0.1:5999";

describe("Dataverse tokens against the local Entra endpoint", () => {
  let server: TokenServer;

  beforeAll(async () => {
    server = await startTokenServer({ tenantId, clients: [{ clientId, clientSecret }] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("gets a token for <instance>/.default through MSAL and serves repeats from the cache", async () => {
    // Prepare
    const tokens = createDataverseTokenProvider({ tenantId, clientId, clientSecret, authorityHost: server.authorityHost, instanceUrl });
    const before = server.tokenRequests.length;

    // Act
    const first = await tokens.getToken();
    const second = await tokens.getToken();

    // Assess
    expect(second).toBe(first);
    expect(decodeJwt(first).aud).toBe(instanceUrl);
    expect(server.tokenRequests.slice(before)).toEqual([{ clientId, scope: `${instanceUrl}/.default`, status: 200 }]);
  });

  it("reports a wrong secret as AUTH with the AADSTS code and without the secret", async () => {
    const wrong = "wrong-secret-do-not-log";
    const tokens = createDataverseTokenProvider({ tenantId, clientId, clientSecret: wrong, authorityHost: server.authorityHost, instanceUrl });

    const err = await tokens.getToken().catch((e) => e);

    expect(err).toMatchObject({ kind: "auth", code: "AUTH" });
    expect(err.message).toContain(`Could not obtain a Dataverse token for client ${clientId} from ${server.authorityHost}`);
    expect(err.message).toContain("AADSTS7000215");
    expect(err.message).not.toContain(wrong);
  });
});
