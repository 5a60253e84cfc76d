import { describe, expect, it } from "vitest";
import { isConfigError } from "../../../shared/config/configError.js";
import { loadSettings, redactedSettings } from "../../../shared/config/settings.js";
import { problemsOf, validEnv } from "./factories.js";

describe("secrets in settings", () => {
  it("never puts a secret value into the error, however the secret is malformed", () => {
    // Prepare: every secret-bearing setting set to a distinctive but invalid value
    const secrets = {
      ADMIN_API_KEY: "ADMINSECRETzz",
      DATAVERSE_WEBHOOK_KEY: "WEBHOOKKEYzz",
      DATAVERSE_WEBHOOK_HMAC_SECRET: "HMACSECRETzz",
      APP_WEBHOOK_SECRET: "APPHOOKSECRET",
      DATAVERSE_WEBHOOK_HEADER: "X-Key: HEADERSECRET",
      AzureWebJobsStorage: "AccountKey=STORAGEKEYzz;Garbage",
      NOTIFY_WEBHOOK_URL: "http://hooks.example.com/NOTIFYSECRETzz",
      APPLICATIONINSIGHTS_CONNECTION_STRING: "Secret=APPINSIGHTSzz",
    };
    // Act
    let message = "";
    try {
      loadSettings(validEnv(secrets));
    } catch (e) {
      if (!isConfigError(e)) throw e;
      message = `${e.message}\n${JSON.stringify(e.details)}`;
    }
    // Assess
    expect(message).not.toBe("");
    for (const name of Object.keys(secrets)) expect(message).toContain(`${name}:`);
    for (const marker of ["ADMINSECRET", "WEBHOOKKEY", "HMACSECRET", "APPHOOKSECRET", "HEADERSECRET", "STORAGEKEY", "NOTIFYSECRET", "APPINSIGHTS"]) {
      expect(message).not.toContain(marker);
    }
  });

  it("masks user-info of a URL quoted in a message", () => {
    const problems = problemsOf(() => loadSettings(validEnv({ APP_BASE_URL: "https://user:PASSWORDzz@app.example.com" })));
    expect(problems).toEqual([expect.stringMatching(/^APP_BASE_URL: must not contain a user name or password/)]);
    expect(problems[0]).not.toContain("PASSWORDzz");
  });

  it("redacts every secret for printing and keeps the rest", () => {
    // Prepare
    const settings = loadSettings(validEnv({
      AzureWebJobsStorage: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=STORAGEKEY==",
      DATAVERSE_WEBHOOK_KEY: "webhook-key-0123456789",
      DATAVERSE_WEBHOOK_HEADER: "X-Sync-Key: header-secret-0123456789",
      DATAVERSE_WEBHOOK_HMAC_SECRET: "hmac-secret-0123456789",
      APP_WEBHOOK_SECRET: "app-hook-secret-0123456789",
      NOTIFY_WEBHOOK_URL: "https://hooks.example.com/T000/notify-secret",
      APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=ikey-secret",
    }));
    // Act
    const printed = JSON.stringify(redactedSettings(settings));
    // Assess
    for (const secret of ["client-secret-value-xyz", "STORAGEKEY", "webhook-key-0123456789", "header-secret-0123456789", "hmac-secret-0123456789",
      "app-hook-secret-0123456789", "notify-secret", "ikey-secret", "app-api-key-value", "admin-api-key-0123456789"]) {
      expect(printed).not.toContain(secret);
    }
    expect(redactedSettings(settings)).toMatchObject({
      dynamics: { instanceUrl: "https://org.crm4.dynamics.com", credential: { kind: "client-secret", secret: "***set***" } },
      storage: { kind: "connection-string", connectionString: "***set***" },
      app: { baseUrl: "https://app.example.com/api", apiKey: "***set***" },
      webhooks: { dataverseHeader: { name: "X-Sync-Key", value: "***set***" }, dataverseKey: "***set***" },
      adminApiKey: "***set***",
    });
    expect(settings.app.apiKey).toBe("app-api-key-value");
  });
});

describe("storage settings", () => {
  it("accepts an account-key connection string and an Azurite one with endpoints", () => {
    const withKey = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net";
    expect(loadSettings(validEnv({ AzureWebJobsStorage: withKey })).storage).toEqual({ kind: "connection-string", connectionString: withKey });
    const sas = "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;SharedAccessSignature=sv=1";
    expect(loadSettings(validEnv({ AzureWebJobsStorage: sas })).storage.kind).toBe("connection-string");
  });

  it("rejects a connection string that names no account, without quoting it", () => {
    const problems = problemsOf(() => loadSettings(validEnv({ AzureWebJobsStorage: "AccountName=acct" })));
    expect(problems).toEqual([expect.stringMatching(/^AzureWebJobsStorage: must be a storage connection string .*got a value of 16 characters$/)]);
  });

  it("derives the service URIs from an identity-based account name", () => {
    const settings = loadSettings(validEnv({
      AzureWebJobsStorage: undefined,
      AzureWebJobsStorage__accountName: "syncstore",
      AzureWebJobsStorage__credential: "managedidentity",
      AzureWebJobsStorage__clientId: "11111111-2222-3333-4444-555555555555",
    }));
    expect(settings.storage).toEqual({
      kind: "identity",
      accountName: "syncstore",
      tableServiceUri: "https://syncstore.table.core.windows.net",
      queueServiceUri: "https://syncstore.queue.core.windows.net",
      credential: "managedidentity",
      clientId: "11111111-2222-3333-4444-555555555555",
    });
  });

  it("requires the queue URI with the table URI and checks the identity settings", () => {
    const problems = problemsOf(() => loadSettings(validEnv({
      AzureWebJobsStorage: undefined,
      AzureWebJobsStorage__tableServiceUri: "https://acct.table.core.windows.net",
      AzureWebJobsStorage__credential: "password",
      AzureWebJobsStorage__clientId: "uami",
    })));
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__queueServiceUri",
    ]);
  });

  it("names both forms when no storage is configured", () => {
    const problems = problemsOf(() => loadSettings(validEnv({ AzureWebJobsStorage: undefined })));
    expect(problems).toEqual([expect.stringMatching(/^AzureWebJobsStorage: required: a connection string .*AzureWebJobsStorage__accountName.*AzureWebJobsStorage__queueServiceUri$/)]);
  });
});
