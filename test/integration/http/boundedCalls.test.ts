import { afterEach, describe, expect, it } from "vitest";
import { createAppClient } from "../../../shared/app/appClient.js";
import { DataverseTransport } from "../../../shared/dataverse/dataverseTransport.js";
import { ErrorCodes, type SyncError } from "../../../shared/errors.js";
import type { HttpBounds } from "../../../shared/http/httpBounds.js";
import { closedPort, startMisbehavingServer, startSilentServer, type Behaviour, type MisbehavingServer, type RecordedRequest } from "../../support/misbehavingServer.js";

const policy = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 };
/** Small bounds, for the tests about timeouts. */
const small: Partial<HttpBounds> = { connectTimeoutMs: 200, firstByteTimeoutMs: 200, bodyTimeoutMs: 200, totalTimeoutMs: 10_000 };
/** Roomy bounds, for the tests about something else: a loaded machine must not turn them into timeouts. */
const roomy: Partial<HttpBounds> = { connectTimeoutMs: 10_000, firstByteTimeoutMs: 10_000, bodyTimeoutMs: 10_000, totalTimeoutMs: 30_000 };
const patch = { method: "PATCH", path: "contacts(00000000-0000-0000-0000-000000000001)", body: JSON.stringify({ firstname: "Ada" }) };

let servers: MisbehavingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(script: (req: RecordedRequest) => Behaviour): Promise<MisbehavingServer> {
  const server = await startMisbehavingServer(script);
  servers.push(server);
  return server;
}

function dataverse(origin: string, bounds: Partial<HttpBounds> = small): DataverseTransport {
  return new DataverseTransport({ instanceUrl: origin, tokens: { getToken: async () => "token-value" }, policy, bounds, random: () => 0 });
}

async function failure(p: Promise<unknown>): Promise<SyncError> {
  return p.then(() => expect.unreachable("the call succeeded"), (e: SyncError) => e);
}

describe("bounded calls against a misbehaving server", () => {
  it("ends a call whose server never answers with TIMEOUT (first byte), after its bounded attempts", async () => {
    // Prepare
    const server = await serve(() => ({ kind: "stall" }));

    // Act
    const err = await failure(dataverse(server.origin).send({ method: "GET", path: "contacts" }));

    // Assess
    expect(err).toMatchObject({ kind: "transient", code: ErrorCodes.Timeout, details: { bound: "first-byte", timeoutMs: 200 } });
    expect(err.message).toContain("options.http.firstByteTimeoutMs");
    expect(server.requests).toHaveLength(policy.maxAttempts);
  });

  it("ends a call whose body stalls after the first chunk with TIMEOUT (body)", async () => {
    const server = await serve(() => ({ kind: "stallBody" }));

    const err = await failure(dataverse(server.origin).send({ method: "GET", path: "contacts" }));

    expect(err).toMatchObject({ code: ErrorCodes.Timeout, details: { bound: "body" } });
    expect(server.requests).toHaveLength(policy.maxAttempts);
  });

  it("ends a slow-loris body that never goes idle with TIMEOUT (body): the bound is the whole body, not the gap", async () => {
    const server = await serve(() => ({ kind: "drip", everyMs: 20 }));

    const err = await failure(dataverse(server.origin).send({ method: "GET", path: "contacts" }, { retry: false }));

    expect(err).toMatchObject({ code: ErrorCodes.Timeout, details: { bound: "body", timeoutMs: 200 } });
    expect(server.requests).toHaveLength(1);
  });

  it("stops retrying when the call's total bound is spent, even though each attempt may wait longer", async () => {
    const server = await serve(() => ({ kind: "stall" }));
    const bounds = { ...small, firstByteTimeoutMs: 60_000, totalTimeoutMs: 300 };

    const err = await failure(new DataverseTransport({ instanceUrl: server.origin, tokens: { getToken: async () => "t" }, policy: { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 1 }, bounds }).send(patch));

    expect(err).toMatchObject({ code: ErrorCodes.Timeout, details: { bound: "total", timeoutMs: 300 } });
    expect(server.requests.length).toBeLessThan(5);
    expect(server.requests.every((r) => r.body === patch.body)).toBe(true);
  });

  it("ends a connection whose TLS handshake never comes with CONNECT_TIMEOUT naming host:port and the setting", async () => {
    const silent = await startSilentServer();
    servers.push(silent);

    const err = await failure(dataverse(silent.origin, { ...small, connectTimeoutMs: 100, firstByteTimeoutMs: 30_000 }).send({ method: "GET", path: "WhoAmI" }, { retry: false }));

    const hostPort = silent.origin.replace("https://", "");
    expect(err).toMatchObject({ kind: "transient", code: ErrorCodes.ConnectTimeout });
    expect(err.message).toContain(hostPort);
    expect(err.message).toContain("DYNAMICS_INSTANCE_URL");
    expect(silent.connections()).toBe(1);
  });

  it("reports a closed port as CONNECTION_REFUSED naming host:port and DYNAMICS_INSTANCE_URL, without the token", async () => {
    const port = await closedPort();

    const err = await failure(dataverse(`http://127.0.0.1:${port}`, roomy).send(patch));

    expect(err).toMatchObject({ code: ErrorCodes.ConnectionRefused, details: { host: `127.0.0.1:${port}` } });
    expect(err.message).toContain(`connection refused by 127.0.0.1:${port}`);
    expect(err.message).toContain("DYNAMICS_INSTANCE_URL");
    expect(err.message).not.toContain("token-value");
  });

  it("reports a closed app port naming APP_BASE_URL and not the API key", async () => {
    const port = await closedPort();
    const app = createAppClient({ baseUrl: `http://127.0.0.1:${port}/api`, apiKey: "app-key-do-not-log", policy, bounds: roomy });

    const err = await failure(app.get("mentor", "m-1"));

    expect(err).toMatchObject({ code: ErrorCodes.ConnectionRefused });
    expect(err.message).toContain("APP_BASE_URL");
    expect(err.message).not.toContain("app-key-do-not-log");
  });

  it("reports a redirect loop as REDIRECT_LOOP naming the URL, and does not retry it", async () => {
    const server = await serve((req) => ({ kind: "redirect", location: req.path.endsWith("/a") ? "/api/data/v9.2/b" : "/api/data/v9.2/a" }));

    const err = await failure(dataverse(server.origin, roomy).send({ method: "GET", path: "a" }));

    expect(err).toMatchObject({ kind: "permanent", code: ErrorCodes.RedirectLoop });
    expect(err.message).toContain(`GET ${server.origin}/api/data/v9.2/a`);
    expect(err.message).toContain("redirect loop");
    // fetch follows 20 redirects (21 requests); a retry of the call would send as many again.
    expect(server.requests.length).toBeGreaterThanOrEqual(21);
    expect(server.requests.length).toBeLessThan(2 * 21);
  });

  it("refuses a body over the size limit by its Content-Length, without reading it", async () => {
    const server = await serve(() => ({ kind: "huge", bytes: 50 * 1024 * 1024, declareLength: true }));

    const err = await failure(dataverse(server.origin, { ...roomy, maxResponseBytes: 1024 * 1024 }).send({ method: "GET", path: "contacts" }));

    expect(err).toMatchObject({ kind: "permanent", code: ErrorCodes.ResponseTooLarge, details: { limit: 1024 * 1024 } });
    expect(err.message).toContain("options.http.maxResponseBytes");
    expect(server.requests).toHaveLength(1);
    expect(server.bytesSent()).toBeLessThan(50 * 1024 * 1024);
  });

  it("refuses an undeclared body while it streams, once it passes the limit", async () => {
    const server = await serve(() => ({ kind: "huge", bytes: 50 * 1024 * 1024, declareLength: false }));

    const err = await failure(dataverse(server.origin, { ...roomy, maxResponseBytes: 1024 * 1024 }).send({ method: "GET", path: "contacts" }));

    expect(err).toMatchObject({ code: ErrorCodes.ResponseTooLarge });
    expect(server.requests).toHaveLength(1);
    expect(server.bytesSent()).toBeLessThan(50 * 1024 * 1024);
  });

  it("fails a PATCH throttled with Retry-After 1e9 at once as RETRY_AFTER_TOO_LONG, sending it only once", async () => {
    const server = await serve(() => ({ kind: "json", status: 429, body: { error: { code: "0x80072322", message: "Number of requests exceeded" } }, headers: { "retry-after": "1e9" } }));

    const err = await failure(dataverse(server.origin, roomy).send(patch));

    expect(err).toMatchObject({ kind: "throttled", code: ErrorCodes.RetryAfterTooLong, status: 429 });
    expect(err.message).toContain("options.http.maxRetryAfterMs");
    expect(server.requests).toHaveLength(1);
  });

  it("fails a GET throttled until a date a day ahead as RETRY_AFTER_TOO_LONG instead of sleeping", async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toUTCString();
    const server = await serve(() => ({ kind: "json", status: 429, headers: { "retry-after": tomorrow } }));

    const err = await failure(dataverse(server.origin, roomy).send({ method: "GET", path: "contacts" }));

    expect(err).toMatchObject({ kind: "throttled", code: ErrorCodes.RetryAfterTooLong });
    expect(err.retryAfterMs).toBeGreaterThan(86_000_000);
    expect(server.requests).toHaveLength(1);
  });
});
