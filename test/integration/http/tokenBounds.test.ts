import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDataverseTokenProvider } from "../../../shared/dataverse/createDataverseCredential.js";
import { DataverseTransport } from "../../../shared/dataverse/dataverseTransport.js";
import { ErrorCodes, type SyncError } from "../../../shared/errors.js";
import { startTokenServer, type TokenServer } from "../../emulators/token/index.js";
import { startMisbehavingServer, type MisbehavingServer } from "../../support/misbehavingServer.js";

const tenantId = "3f2b6a8e-1c4d-4e5f-8a9b-0c1d2e3f4a5b";
const unknownTenant = "0badc0de-1c4d-4e5f-8a9b-0c1d2e3f4a5b";
const clientId = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d";
const clientSecret = "token-bounds-secret-value";

async function failure(p: Promise<unknown>): Promise<SyncError> {
  return p.then(() => expect.unreachable("a token was obtained"), (e: SyncError) => e);
}

describe("token acquisition with @azure/identity against a local authority", () => {
  let server: TokenServer;
  let stalling: MisbehavingServer;

  beforeAll(async () => {
    server = await startTokenServer({ tenantId, clients: [{ clientId, clientSecret }] });
    stalling = await startMisbehavingServer(() => ({ kind: "stall" }), { tls: true });
  });
  afterAll(async () => {
    await server?.stop();
    await stalling?.close();
  });

  it("names DYNAMICS_TENANT_ID and the tenant when the authority does not know it, without the secret", async () => {
    // Prepare
    const tokens = createDataverseTokenProvider({ tenantId: unknownTenant, clientId, clientSecret, authorityHost: server.authorityHost, instanceUrl: "http://127.0.0.1:5999" });

    // Act
    const err = await failure(tokens.getToken());

    // Assess
    expect(err).toMatchObject({ kind: "auth", code: ErrorCodes.Auth, details: { setting: "DYNAMICS_TENANT_ID" } });
    expect(err.message).toContain(`tenant "${unknownTenant}" (DYNAMICS_TENANT_ID)`);
    expect(err.message).toContain("DYNAMICS_AUTHORITY_HOST");
    expect(err.message).not.toContain(clientSecret);
    expect(server.tokenRequests.filter((r) => r.clientId === clientId && r.status === 200)).toHaveLength(0);
  });

  it("ends a token request to an authority that never answers with TIMEOUT naming the bound", async () => {
    const tokens = createDataverseTokenProvider({ tenantId, clientId, clientSecret, authorityHost: stalling.origin, instanceUrl: "http://127.0.0.1:5999" }, { timeoutMs: 2_000 });

    const err = await failure(tokens.getToken());

    expect(err).toMatchObject({ kind: "transient", code: ErrorCodes.Timeout, details: { bound: "token", timeoutMs: 2_000 } });
    expect(err.message).toContain("options.http.tokenTimeoutMs");
    expect(err.message).not.toContain(clientSecret);
    expect(stalling.requests.length).toBeGreaterThan(0);
  });

  it("sends no Dataverse request when no token can be had in time, and the call ends", async () => {
    const tokens = createDataverseTokenProvider({ tenantId, clientId, clientSecret, authorityHost: stalling.origin, instanceUrl: "http://127.0.0.1:5999" }, { timeoutMs: 100 });
    const dataverse = await startMisbehavingServer(() => ({ kind: "json", status: 204 }));
    const transport = new DataverseTransport({ instanceUrl: dataverse.origin, tokens, policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });

    const err = await failure(transport.send({ method: "PATCH", path: "contacts(00000000-0000-0000-0000-000000000001)", body: "{}" }));
    await dataverse.close();

    expect(err).toMatchObject({ code: ErrorCodes.Timeout, details: { bound: "token" } });
    expect(dataverse.requests).toHaveLength(0);
  });
});
