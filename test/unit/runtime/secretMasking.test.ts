import { describe, expect, it } from "vitest";
import { loadSettings, secretValues } from "../../../shared/config/settings.js";
import { HttpClient } from "../../../shared/http/httpClient.js";
import { SyncError } from "../../../shared/errors.js";
import { JsonLogger } from "../../../shared/runtime/logger.js";
import { maskedTelemetry, RecordingTelemetry } from "../../../shared/runtime/telemetry.js";
import { validEnv } from "../config/factories.js";
import { FakeClock } from "../http/fakes.js";

const ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5LWJhc2U2NC0wMTIzNDU2Nzg5YWJjZGVm==";
const SAS_SIG = "SIGNATUREzzYWJjZGVmZ2hpams%3D";
const HOOK = "https://contoso.webhook.office.example/webhookb2/1f0c6a8e-0000-4000-8000-00000000000a@tenant/IncomingWebhook/0123456789abcdef0123456789abcdef/9d2f";

function logged(env: Record<string, string | undefined>, ...texts: string[]): string[] {
  const lines: string[] = [];
  const logger = new JsonLogger({ secrets: secretValues(loadSettings(validEnv(env))), write: (l) => void lines.push(l) });
  for (const t of texts) logger.error("storage call failed", { error: t });
  return lines;
}

describe("secrets the logger masks (from the settings)", () => {
  it("masks a storage account key, wherever a library echoes it", () => {
    const connectionString = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`;

    const lines = logged({ AzureWebJobsStorage: connectionString }, `bad key ${ACCOUNT_KEY}`, connectionString);

    for (const l of lines) expect(l).not.toContain(ACCOUNT_KEY);
    expect(lines[0]).toContain("bad key ***");
  });

  it("masks a SAS signature from the connection string", () => {
    const sas = `sv=2022-11-02&ss=qt&srt=sco&sp=rwdlacu&se=2030-01-01T00:00:00Z&sig=${SAS_SIG}`;
    const connectionString = `TableEndpoint=https://acct.table.core.windows.net;QueueEndpoint=https://acct.queue.core.windows.net;SharedAccessSignature=${sas}`;

    const lines = logged({ AzureWebJobsStorage: connectionString }, `GET https://acct.table.core.windows.net/Tables?${sas}`, `sig=${SAS_SIG}`);

    for (const l of lines) expect(l).not.toContain(SAS_SIG);
  });

  it("masks NOTIFY_WEBHOOK_URL whole: the URL, its path, and each token in it", () => {
    const path = new URL(HOOK).pathname;

    const lines = logged({ NOTIFY_WEBHOOK_URL: HOOK }, `POST ${HOOK} failed`, `path ${path}`, "token 0123456789abcdef0123456789abcdef here");

    for (const l of lines) expect(l).not.toMatch(/webhookb2|0123456789abcdef0123456789abcdef|1f0c6a8e/);
    expect(lines[0]).toContain("POST *** failed");
  });
});

describe("telemetry masks the same secrets", () => {
  it("masks secrets in string properties of events and metrics", () => {
    const secrets = secretValues(loadSettings(validEnv({ NOTIFY_WEBHOOK_URL: HOOK })));
    const recorded = new RecordingTelemetry();
    const telemetry = maskedTelemetry(recorded, secrets);

    telemetry.event("SyncRunCompleted", { error: `call to ${HOOK} failed with app-api-key-value`, failed: 1 });
    telemetry.metric("records", 1, { note: "client-secret-value-xyz" });

    expect(recorded.events).toEqual([{ name: "SyncRunCompleted", properties: { error: "call to *** failed with ***", failed: 1 } }]);
    expect(recorded.metrics[0].properties).toEqual({ note: "***" });
  });
});

describe("HttpClient errors", () => {
  it("never quote the request's query (a `code` key, a SAS), even when fetch's own message quotes the URL", async () => {
    const target = "https://app.example.com/api/hooks?code=QUERYKEY-0123456789";
    const http = new HttpClient({
      clock: new FakeClock(), policy: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      fetch: (async () => { throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${target}`); }) as typeof fetch,
      classify: () => new SyncError("permanent", "REJECTED", "unused"),
    });

    const error = await http.send({ method: "POST", url: target }).then(() => { throw new Error("expected the send to fail"); }, (e: unknown) => e as SyncError);

    expect(error.message).not.toContain("QUERYKEY");
    expect(error.message).toBe("POST https://app.example.com/api/hooks failed: Request cannot be constructed from a URL that includes credentials: https://app.example.com/api/hooks");
  });
});
