import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClientSecretCredential } from "@azure/identity";
import { generate } from "selfsigned";
import { afterEach, describe, expect, it } from "vitest";
import { healthApi } from "../../../shared/api/healthApi.js";
import { keyVaultSecretExpiry } from "../../../shared/config/credentialExpiry.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { startTokenServer } from "../../emulators/token/index.js";
import { startKeyVaultStub, type KeyVaultStub } from "./keyVaultStub.js";

/** The app's managed identity, played by a client of a token endpoint of its own. */
const VAULT_TENANT = "7e1c9a3b-0000-4000-8000-00000000c0de";
const VAULT_CLIENT = { clientId: "5f0c2d11-0000-4000-8000-0000000000a1", clientSecret: "identity-secret-for-the-vault-test" };

const DAY = 86_400_000;
const credentialOf = async (h: SyncHarness) => ((await healthApi(h.services, { cacheMs: 0 })).jsonBody as { credential?: unknown }).credential;

/** A PEM with a certificate (valid until `notAfter`) and its private key, as DYNAMICS_CLIENT_CERTIFICATE_PATH takes. */
async function certificateFile(notAfter: Date): Promise<string> {
  const pems = await generate([{ name: "commonName", value: "d365-sync test" }], { keySize: 2048, algorithm: "sha256", notBeforeDate: new Date(Date.now() - DAY), notAfterDate: notAfter });
  const path = join(mkdtempSync(join(tmpdir(), "d365-cert-")), "client.pem");
  writeFileSync(path, `${pems.cert}\n${pems.private}`);
  return path;
}

describe("credential expiry in GET /api/health", () => {
  let h: SyncHarness | undefined;
  let vault: KeyVaultStub | undefined;
  let stopTokens: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await h?.stop();
    await vault?.stop();
    await stopTokens?.();
    h = vault = stopTokens = undefined;
  });

  it("shows a certificate credential's notAfter and the whole days left", async () => {
    const notAfter = new Date(Math.floor((Date.now() + 12.5 * DAY) / 1000) * 1000);
    const path = await certificateFile(notAfter);

    h = await startSyncHarness({ env: { DYNAMICS_CREDENTIAL: "certificate", DYNAMICS_CLIENT_CERTIFICATE_PATH: path } });

    expect(await credentialOf(h)).toEqual({ kind: "certificate", expiresOn: notAfter.toISOString(), daysLeft: 12, warningDays: 30 });
  });

  it("shows DYNAMICS_CREDENTIAL_EXPIRES_ON when nothing else tells, and no credential when nothing does", async () => {
    h = await startSyncHarness({ env: { DYNAMICS_CREDENTIAL_EXPIRES_ON: "2020-01-31" } });
    expect(await credentialOf(h)).toEqual({ kind: "setting", expiresOn: "2020-01-31T00:00:00.000Z", daysLeft: expect.any(Number), warningDays: 30 });
    expect((await credentialOf(h)) as { daysLeft: number }).toMatchObject({ daysLeft: Math.floor((Date.parse("2020-01-31") - Date.now()) / DAY) });
    await h.stop();

    h = await startSyncHarness();
    expect(await credentialOf(h)).toBeUndefined();
  });

  it("reads the Key Vault secret's expires attribute with a token for the vault, and never shows its value", async () => {
    const tokens = await startTokenServer({ tenantId: VAULT_TENANT, clients: [VAULT_CLIENT] });
    stopTokens = () => tokens.stop();
    vault = await startKeyVaultStub(tokens);
    const expires = new Date(Math.floor((Date.now() + 45.5 * DAY) / 1000) * 1000);
    vault.secrets.set("DYNAMICS-CLIENT-SECRET", { value: "the-client-secret-value-0001", expires });
    const identity = new ClientSecretCredential(VAULT_TENANT, VAULT_CLIENT.clientId, VAULT_CLIENT.clientSecret, { authorityHost: tokens.authorityHost, disableInstanceDiscovery: true });

    h = await startSyncHarness({
      env: { DYNAMICS_CLIENT_SECRET_VAULT_URI: `${vault.vaultUrl}/secrets/DYNAMICS-CLIENT-SECRET`, DYNAMICS_CREDENTIAL_EXPIRES_ON: "2020-01-31" },
      vaultExpiry: async () => keyVaultSecretExpiry(identity),
    });
    const res = await healthApi(h.services, { cacheMs: 0 });

    expect((res.jsonBody as { credential?: unknown }).credential).toEqual({ kind: "key-vault", expiresOn: expires.toISOString(), daysLeft: 45, warningDays: 30 });
    expect(vault.requests.map((r) => r.authorized)).toEqual([false, true]);
    expect(vault.requests[1]).toMatchObject({ method: "GET", path: expect.stringMatching(/^\/secrets\/DYNAMICS-CLIENT-SECRET\/?$/) });
    expect(tokens.tokenRequests).toEqual([{ clientId: VAULT_CLIENT.clientId, scope: "https://vault.azure.net/.default", status: 200 }]);
    expect(JSON.stringify(res.jsonBody)).not.toContain("the-client-secret-value-0001");
    expect(JSON.stringify(h.logs)).not.toContain("the-client-secret-value-0001");
  });

  it("falls back to DYNAMICS_CREDENTIAL_EXPIRES_ON when the vault has no such secret, and logs the setting by name", async () => {
    const tokens = await startTokenServer({ tenantId: VAULT_TENANT, clients: [VAULT_CLIENT] });
    stopTokens = () => tokens.stop();
    vault = await startKeyVaultStub(tokens);
    const identity = new ClientSecretCredential(VAULT_TENANT, VAULT_CLIENT.clientId, VAULT_CLIENT.clientSecret, { authorityHost: tokens.authorityHost, disableInstanceDiscovery: true });

    h = await startSyncHarness({
      env: { DYNAMICS_CLIENT_SECRET_VAULT_URI: `${vault.vaultUrl}/secrets/DYNAMICS-CLIENT-SECRET`, DYNAMICS_CREDENTIAL_EXPIRES_ON: "2020-01-31" },
      vaultExpiry: async () => keyVaultSecretExpiry(identity),
    });

    expect(await credentialOf(h)).toMatchObject({ kind: "setting", expiresOn: "2020-01-31T00:00:00.000Z" });
    expect(h.logs.filter((l) => l.message.startsWith("credential expiry"))).toEqual([
      expect.objectContaining({ level: "warn", message: "credential expiry: the Key Vault secret could not be read", props: expect.objectContaining({ setting: "DYNAMICS_CLIENT_SECRET_VAULT_URI" }) }),
    ]);
  });
});
