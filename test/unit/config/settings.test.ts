import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../shared/config/configError.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { problemsOf, validEnv } from "./factories.js";

describe("loadSettings", () => {
  it("reads a complete environment and fills the defaults", () => {
    // Prepare
    const env = validEnv({ DYNAMICS_INSTANCE_URL: "https://org.crm4.dynamics.com/" });
    // Act
    const settings = loadSettings(env);
    // Assess
    expect(settings.dynamics).toEqual({
      instanceUrl: "https://org.crm4.dynamics.com",
      tenantId: "8f1b0a3e-5c2d-4e6f-9a7b-1c2d3e4f5a6b",
      clientId: "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
      credential: { kind: "client-secret", secret: "client-secret-value-xyz" },
      authorityHost: "https://login.microsoftonline.com",
      authorityIsMicrosoft: true,
    });
    expect(settings.storage).toEqual({ kind: "connection-string", connectionString: "UseDevelopmentStorage=true" });
    expect(settings.app).toEqual({ baseUrl: "https://app.example.com/api", apiKey: "app-api-key-value" });
    expect(settings.webhooks).toEqual({});
    expect(settings).toMatchObject({ adminApiKey: "admin-api-key-0123456789", configPath: "sync.config.json", port: 7071, host: "127.0.0.1" });
    expect(settings.notifyWebhookUrl).toBeUndefined();
  });

  it("throws a ConfigError of kind validation with code INVALID_SETTING", () => {
    // Prepare
    const env = validEnv({ DYNAMICS_INSTANCE_URL: undefined });
    // Act
    let thrown: unknown;
    try { loadSettings(env); } catch (e) { thrown = e; }
    // Assess
    expect(thrown).toBeInstanceOf(ConfigError);
    expect(thrown).toMatchObject({ kind: "validation", code: "INVALID_SETTING" });
    expect((thrown as Error).message).toContain("DYNAMICS_INSTANCE_URL: required");
  });

  it("lists every missing required setting at once", () => {
    // Act
    const problems = problemsOf(() => loadSettings({}));
    // Assess
    for (const name of ["DYNAMICS_INSTANCE_URL", "DYNAMICS_TENANT_ID", "DYNAMICS_CLIENT_ID", "DYNAMICS_CREDENTIAL", "AzureWebJobsStorage", "APP_BASE_URL", "APP_API_KEY", "ADMIN_API_KEY"]) {
      expect(problems.some((p) => p.startsWith(`${name}: `)), name).toBe(true);
    }
    expect(problems).toHaveLength(8);
  });

  it("treats empty and whitespace-only values as unset", () => {
    // Act
    const problems = problemsOf(() => loadSettings(validEnv({ APP_API_KEY: "   ", DYNAMICS_AUTHORITY_HOST: "" })));
    // Assess
    expect(problems).toEqual([expect.stringMatching(/^APP_API_KEY: required/)]);
  });

  describe("DYNAMICS_INSTANCE_URL", () => {
    it("rejects a non-https URL naming the setting, the rule and the value", () => {
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_INSTANCE_URL: "ftp://x" })));
      expect(problems).toEqual([
        "DYNAMICS_INSTANCE_URL: must be an https:// URL (http:// only for loopback hosts such as 127.0.0.1), got 'ftp://x'",
      ]);
    });

    it("accepts plain http only for loopback hosts", () => {
      for (const url of ["http://127.0.0.1:5555", "http://localhost:8080", "http://[::1]:9000", "http://127.1.2.3"]) {
        expect(loadSettings(validEnv({ DYNAMICS_INSTANCE_URL: url })).dynamics.instanceUrl).toBe(url);
      }
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_INSTANCE_URL: "http://org.crm.dynamics.com" })));
      expect(problems[0]).toMatch(/^DYNAMICS_INSTANCE_URL: must be an https:\/\/ URL/);
    });

    it("rejects a path or query", () => {
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_INSTANCE_URL: "https://org.crm.dynamics.com/api/data/v9.2" })));
      expect(problems).toEqual([expect.stringContaining("DYNAMICS_INSTANCE_URL: must be a bare origin without a path")]);
    });
  });

  it("accepts a tenant domain name and rejects anything else", () => {
    expect(loadSettings(validEnv({ DYNAMICS_TENANT_ID: "contoso.onmicrosoft.com" })).dynamics.tenantId).toBe("contoso.onmicrosoft.com");
    const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_TENANT_ID: "not a tenant" })));
    expect(problems).toEqual([expect.stringMatching(/^DYNAMICS_TENANT_ID: must be a tenant GUID or a domain name.*got 'not a tenant'$/)]);
  });

  it("requires the client id to be a GUID", () => {
    const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_CLIENT_ID: "my-app" })));
    expect(problems).toEqual([expect.stringMatching(/^DYNAMICS_CLIENT_ID: must be .*GUID.*got 'my-app'$/)]);
  });

  describe("credential", () => {
    const dir = mkdtempSync(join(tmpdir(), "d365-settings-"));
    const pem = join(dir, "cert.pem");
    writeFileSync(pem, "-----BEGIN CERTIFICATE-----\n");
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("names every option when no credential is given", () => {
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_CLIENT_SECRET: undefined })));
      expect(problems).toHaveLength(1);
      for (const option of ["DYNAMICS_CLIENT_SECRET", "DYNAMICS_CLIENT_CERTIFICATE_PATH", "managed-identity", "workload-identity"]) {
        expect(problems[0]).toContain(option);
      }
    });

    it("lets an explicit DYNAMICS_CREDENTIAL win over a secret", () => {
      const settings = loadSettings(validEnv({ DYNAMICS_CREDENTIAL: "managed-identity" }));
      expect(settings.dynamics.credential).toEqual({ kind: "managed-identity" });
      expect(loadSettings(validEnv({ DYNAMICS_CREDENTIAL: "workload-identity" })).dynamics.credential).toEqual({ kind: "workload-identity" });
    });

    it("uses an existing certificate file, resolved to an absolute path", () => {
      const settings = loadSettings(validEnv({ DYNAMICS_CLIENT_SECRET: undefined, DYNAMICS_CLIENT_CERTIFICATE_PATH: pem }));
      expect(settings.dynamics.credential).toEqual({ kind: "certificate", certificatePath: pem });
    });

    it("rejects a certificate path that does not exist", () => {
      const missing = join(dir, "missing.pem");
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_CLIENT_SECRET: undefined, DYNAMICS_CLIENT_CERTIFICATE_PATH: missing })));
      expect(problems).toEqual([`DYNAMICS_CLIENT_CERTIFICATE_PATH: must name an existing PEM file, got '${missing}' (no such file)`]);
    });

    it("refuses to guess when both a secret and a certificate are set", () => {
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_CLIENT_CERTIFICATE_PATH: pem })));
      expect(problems).toEqual([expect.stringMatching(/^DYNAMICS_CREDENTIAL: both DYNAMICS_CLIENT_SECRET and DYNAMICS_CLIENT_CERTIFICATE_PATH are set/)]);
    });

    it("rejects an unknown credential kind and a client-secret kind without a secret", () => {
      expect(problemsOf(() => loadSettings(validEnv({ DYNAMICS_CREDENTIAL: "password" })))).toEqual([
        "DYNAMICS_CREDENTIAL: must be one of client-secret, certificate, managed-identity, workload-identity, got 'password'",
      ]);
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_CREDENTIAL: "client-secret", DYNAMICS_CLIENT_SECRET: undefined })));
      expect(problems).toEqual([expect.stringMatching(/^DYNAMICS_CLIENT_SECRET: required when DYNAMICS_CREDENTIAL is 'client-secret'/)]);
    });
  });

  describe("DYNAMICS_AUTHORITY_HOST", () => {
    it("marks a non-Microsoft authority so instance discovery can be disabled", () => {
      const local = loadSettings(validEnv({ DYNAMICS_AUTHORITY_HOST: "https://127.0.0.1:8443/" }));
      expect(local.dynamics).toMatchObject({ authorityHost: "https://127.0.0.1:8443", authorityIsMicrosoft: false });
      const usGov = loadSettings(validEnv({ DYNAMICS_AUTHORITY_HOST: "https://login.microsoftonline.us" }));
      expect(usGov.dynamics.authorityIsMicrosoft).toBe(true);
    });

    it("requires https even for loopback hosts", () => {
      const problems = problemsOf(() => loadSettings(validEnv({ DYNAMICS_AUTHORITY_HOST: "http://127.0.0.1:8443" })));
      expect(problems).toEqual(["DYNAMICS_AUTHORITY_HOST: must be an https:// URL, got 'http://127.0.0.1:8443'"]);
    });
  });

  describe("app, webhooks and the rest", () => {
    it("keeps a path prefix on APP_BASE_URL and rejects other schemes", () => {
      expect(loadSettings(validEnv({ APP_BASE_URL: "http://10.0.0.5:3000/prefix/" })).app.baseUrl).toBe("http://10.0.0.5:3000/prefix");
      expect(problemsOf(() => loadSettings(validEnv({ APP_BASE_URL: "ftp://app" })))).toEqual([
        "APP_BASE_URL: must be an http:// or https:// URL, got 'ftp://app'",
      ]);
    });

    it("splits DATAVERSE_WEBHOOK_HEADER into a header name and value", () => {
      const settings = loadSettings(validEnv({ DATAVERSE_WEBHOOK_HEADER: "X-Sync-Key: header-secret-0123456789" }));
      expect(settings.webhooks.dataverseHeader).toEqual({ name: "X-Sync-Key", value: "header-secret-0123456789" });
    });

    it("rejects a webhook header without a name, and one with a short value", () => {
      const problems = problemsOf(() => loadSettings(validEnv({ DATAVERSE_WEBHOOK_HEADER: "just-a-long-secret-value" })));
      expect(problems).toEqual([expect.stringMatching(/^DATAVERSE_WEBHOOK_HEADER: must be 'Name: value'/)]);
      const short = problemsOf(() => loadSettings(validEnv({ DATAVERSE_WEBHOOK_HEADER: "X-Key: short" })));
      expect(short).toEqual([expect.stringMatching(/^DATAVERSE_WEBHOOK_HEADER: the value after 'X-Key:' must be at least 16 characters/)]);
    });

    it("requires webhook secrets and the admin key to be at least 16 characters", () => {
      const problems = problemsOf(() => loadSettings(validEnv({
        ADMIN_API_KEY: "short", DATAVERSE_WEBHOOK_KEY: "short", DATAVERSE_WEBHOOK_HMAC_SECRET: "short", APP_WEBHOOK_SECRET: "short",
      })));
      expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["ADMIN_API_KEY", "APP_WEBHOOK_SECRET", "DATAVERSE_WEBHOOK_HMAC_SECRET", "DATAVERSE_WEBHOOK_KEY"]);
      expect(problems.every((p) => p.includes("must be at least 16 characters long"))).toBe(true);
    });

    it("requires NOTIFY_WEBHOOK_URL to be https except on loopback", () => {
      expect(loadSettings(validEnv({ NOTIFY_WEBHOOK_URL: "http://127.0.0.1:9999/hook?token=abc" })).notifyWebhookUrl).toBe("http://127.0.0.1:9999/hook?token=abc");
      const problems = problemsOf(() => loadSettings(validEnv({ NOTIFY_WEBHOOK_URL: "http://hooks.example.com/T000/secretpath" })));
      expect(problems).toEqual([expect.stringMatching(/^NOTIFY_WEBHOOK_URL: must be an https:\/\/ URL.*got a value of \d+ characters$/)]);
    });

    it("requires an Application Insights connection string to name its key or endpoint", () => {
      expect(loadSettings(validEnv({ APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=abc;IngestionEndpoint=https://x" })).appInsightsConnectionString).toBeDefined();
      expect(problemsOf(() => loadSettings(validEnv({ APPLICATIONINSIGHTS_CONNECTION_STRING: "Endpoint=foo" })))).toEqual([
        expect.stringMatching(/^APPLICATIONINSIGHTS_CONNECTION_STRING: must be an Application Insights connection string/),
      ]);
    });

    it("reads PORT and HOST for the local runner and rejects a bad port", () => {
      expect(loadSettings(validEnv({ PORT: "8080", HOST: "0.0.0.0" }))).toMatchObject({ port: 8080, host: "0.0.0.0" });
      expect(problemsOf(() => loadSettings(validEnv({ PORT: "http" })))).toEqual(["PORT: must be a port number from 0 to 65535, got 'http'"]);
    });

    it("reports an unresolved Key Vault reference as such", () => {
      const problems = problemsOf(() => loadSettings(validEnv({
        APP_API_KEY: "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/app-key/)",
        DYNAMICS_CLIENT_SECRET: "@Microsoft.KeyVault(VaultName=kv;SecretName=dyn)",
      })));
      expect(problems).toContain("APP_API_KEY: is an unresolved Key Vault reference: check the reference and that the app's identity may read the secret");
      expect(problems.some((p) => p.startsWith("DYNAMICS_CLIENT_SECRET: is an unresolved Key Vault reference"))).toBe(true);
    });
  });
});
