import { describe, expect, it } from "vitest";
import { ErrorCodes, SyncError } from "../../../shared/errors.js";
import { HttpClient, type HttpResponse } from "../../../shared/http/httpClient.js";
import { FakeClock, jsonResponse, networkReset, scriptedFetch, timeoutError } from "./fakes.js";

function classify(res: HttpResponse): SyncError {
  if (res.status === 429) return new SyncError("throttled", ErrorCodes.Throttled, "429", { status: 429, retryAfterMs: Number(res.headers.get("retry-after")) * 1000 });
  if (res.status >= 500) return new SyncError("transient", ErrorCodes.ServerBusy, String(res.status), { status: res.status });
  return new SyncError("permanent", ErrorCodes.Rejected, `status ${res.status}`, { status: res.status });
}

function client(fetch: typeof globalThis.fetch, clock = new FakeClock(), extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) {
  return new HttpClient({ fetch, clock, classify, random: () => 0, policy: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 }, ...extra });
}

describe("HttpClient", () => {
  it("returns a 2xx response with its text and parsed json", async () => {
    const fetch = scriptedFetch([jsonResponse(200, { a: 1 })]);

    const res = await client(fetch).send({ method: "GET", url: "http://127.0.0.1/x" });

    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ a: 1 });
  });

  it("waits at least Retry-After before retrying a 429", async () => {
    // Prepare
    const clock = new FakeClock();
    const fetch = scriptedFetch([jsonResponse(429, {}, { "retry-after": "3" }), jsonResponse(429, {}, { "retry-after": "7" }), jsonResponse(200, {})]);

    // Act
    const res = await client(fetch, clock).send({ method: "GET", url: "http://127.0.0.1/x" });

    // Assess
    expect(res.status).toBe(200);
    expect(clock.sleeps).toEqual([3_000, 7_000]);
    expect(fetch.calls).toHaveLength(3);
  });

  it("retries 503, network resets and timeouts with back-off", async () => {
    const clock = new FakeClock();
    const fetch = scriptedFetch([jsonResponse(503, {}), networkReset(), timeoutError(), jsonResponse(204, null)]);
    const retries: string[] = [];

    const res = await client(fetch, clock, { random: () => 0.5, onRetry: (i) => retries.push(i.error.code) }).send({ method: "POST", url: "http://127.0.0.1/x", body: "{}" });

    expect(res.status).toBe(204);
    expect(retries).toEqual([ErrorCodes.ServerBusy, ErrorCodes.Network, ErrorCodes.Timeout]);
    expect(clock.sleeps).toEqual([50, 100, 200]);
  });

  it("throws the classified error at once for a permanent failure", async () => {
    const fetch = scriptedFetch([jsonResponse(400, {})]);

    await expect(client(fetch).send({ method: "GET", url: "http://127.0.0.1/x" })).rejects.toMatchObject({ code: ErrorCodes.Rejected, status: 400 });
    expect(fetch.calls).toHaveLength(1);
  });

  it("gives up after maxAttempts with the last error", async () => {
    const clock = new FakeClock();
    const fetch = scriptedFetch([jsonResponse(503, {}), jsonResponse(503, {}), jsonResponse(503, {}), jsonResponse(502, {})]);

    await expect(client(fetch, clock).send({ method: "GET", url: "http://127.0.0.1/x" })).rejects.toMatchObject({ status: 502 });
    expect(fetch.calls).toHaveLength(4);
    expect(clock.sleeps).toHaveLength(3);
  });

  it("returns accepted non-2xx statuses instead of throwing", async () => {
    const fetch = scriptedFetch([jsonResponse(404, { error: {} })]);

    const res = await client(fetch).send({ method: "GET", url: "http://127.0.0.1/x" }, { accept: [404] });

    expect(res.status).toBe(404);
  });

  it("makes one attempt only when retry is false", async () => {
    const fetch = scriptedFetch([jsonResponse(503, {})]);

    await expect(client(fetch).send({ method: "GET", url: "http://127.0.0.1/x" }, { retry: false })).rejects.toMatchObject({ code: ErrorCodes.ServerBusy });
    expect(fetch.calls).toHaveLength(1);
  });

  it("calls prepare before every attempt so each one gets fresh headers", async () => {
    const fetch = scriptedFetch([jsonResponse(503, {}), jsonResponse(200, {})]);
    let n = 0;

    await client(fetch, new FakeClock(), { prepare: async (r) => ({ ...r, headers: { ...r.headers, authorization: `Bearer t${++n}` } }) }).send({ method: "GET", url: "http://127.0.0.1/x" });

    expect(fetch.calls.map((c) => c.headers.authorization)).toEqual(["Bearer t1", "Bearer t2"]);
  });

  it("does not retry an auth error raised by prepare", async () => {
    const fetch = scriptedFetch([]);
    const auth = new SyncError("auth", ErrorCodes.Auth, "no token");

    await expect(client(fetch, new FakeClock(), { prepare: async () => { throw auth; } }).send({ method: "GET", url: "http://127.0.0.1/x" })).rejects.toBe(auth);
    expect(fetch.calls).toHaveLength(0);
  });

  it("turns a real timeout into a transient TIMEOUT error", async () => {
    const hang: typeof fetch = (_u, init) => new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));

    const err = await client(hang, new FakeClock(), { timeoutMs: 20 }).send({ method: "GET", url: "http://127.0.0.1/x?secret=1" }, { retry: false }).catch((e) => e);

    expect(err).toMatchObject({ kind: "transient", code: ErrorCodes.Timeout });
    expect(err.message).not.toContain("secret");
  });
});
