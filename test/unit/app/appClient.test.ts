import { describe, expect, it } from "vitest";
import { createAppClient, quoteVersion } from "../../../shared/app/index.js";
import { SyncError } from "../../../shared/errors.js";
import type { AppChangePage } from "../../../shared/ports.js";
import { recordingClock, scriptedFetch } from "./scriptedFetch.js";

const KEY = "super-secret-key";
const rec = (id: string, extra: Record<string, unknown> = {}) => ({ id, version: `v-${id}`, updatedAt: "2026-01-01T00:00:00Z", deleted: false, data: { n: id }, ...extra });
const written = { id: "m-0009", version: "v9", updatedAt: "2026-01-01T00:00:00Z" };

function setup(steps: Parameters<typeof scriptedFetch>[0], extra: { baseUrl?: string; timeoutMs?: number; maxAttempts?: number } = {}) {
  const transport = scriptedFetch(steps);
  const clock = recordingClock();
  const client = createAppClient({
    baseUrl: extra.baseUrl ?? "https://app.example.org/api/v1/",
    apiKey: KEY,
    fetch: transport.fetch,
    clock,
    random: () => 0,
    timeoutMs: extra.timeoutMs,
    policy: { maxAttempts: extra.maxAttempts ?? 3, baseDelayMs: 100, maxDelayMs: 1_000 },
  });
  return { client, transport, clock };
}

async function caught(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SyncError);
    return e as SyncError;
  }
  throw new Error("expected a rejection");
}

async function collect(pages: AsyncIterable<AppChangePage>): Promise<AppChangePage[]> {
  const out: AppChangePage[] = [];
  for await (const p of pages) out.push(p);
  return out;
}

describe("createAppClient", () => {
  it("sends the bearer key to URL-encoded entity and id paths under the base path prefix", async () => {
    // Prepare
    const { client, transport } = setup([{ status: 200, body: rec("a/b") }]);
    // Act
    await client.get("odd entity", "a/b");
    // Assess
    expect(transport.seen[0].url).toBe("https://app.example.org/api/v1/sync/odd%20entity/a%2Fb");
    expect(transport.seen[0].headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("pages through changes, passing cursor and limit, until hasMore is false", async () => {
    // Prepare
    const { client, transport } = setup([
      { status: 200, body: { records: [rec("1"), rec("2")], nextCursor: "c2", hasMore: true } },
      { status: 200, body: { records: [rec("3")], nextCursor: "c3", hasMore: false } },
    ]);
    // Act
    const pages = await collect(client.changes("mentor", "c0", 2));
    // Assess
    expect(pages.map((p) => p.records.map((r) => r.id))).toEqual([["1", "2"], ["3"]]);
    expect(pages.at(-1)!.nextCursor).toBe("c3");
    expect(transport.seen.map((r) => new URL(r.url).search)).toEqual(["?limit=2&cursor=c0", "?limit=2&cursor=c2"]);
  });

  it("reads from the beginning without a cursor parameter when none is given", async () => {
    const { client, transport } = setup([{ status: 200, body: { records: [], nextCursor: "c0", hasMore: false } }]);
    await collect(client.changes("mentor"));
    expect(new URL(transport.seen[0].url).searchParams.has("cursor")).toBe(false);
  });

  it("stops with an error when the app claims more pages without moving the cursor", async () => {
    const { client } = setup([{ status: 200, body: { records: [], nextCursor: "c1", hasMore: true } }]);
    const error = await caught(collect(client.changes("mentor", "c1")));
    expect(error.kind).toBe("permanent");
  });

  it("returns null for a record the app answers 404 to", async () => {
    const { client } = setup([{ status: 404, body: { error: { code: "NOT_FOUND", message: "gone" } } }]);
    expect(await client.get("mentor", "m-1")).toBeNull();
  });

  it("creates with data and dataverseId and returns the app's id and version", async () => {
    // Prepare
    const { client, transport } = setup([{ status: 201, body: written }]);
    // Act
    const result = await client.create("mentor", { firstName: "A" }, "dv-1");
    // Assess
    expect(result).toEqual(written);
    expect(transport.seen[0]).toMatchObject({ method: "POST", url: "https://app.example.org/api/v1/sync/mentor", body: { data: { firstName: "A" }, dataverseId: "dv-1" } });
    expect(transport.seen[0].headers["content-type"]).toBe("application/json");
  });

  it("sends If-Match quoted and only the given fields on update", async () => {
    // Prepare
    const { client, transport } = setup([{ status: 200, body: written }]);
    // Act
    await client.update("mentor", "m-9", { score: 3 }, { ifMatch: "v8" });
    // Assess
    expect(transport.seen[0]).toMatchObject({ method: "PATCH", headers: { "if-match": '"v8"' }, body: { data: { score: 3 } } });
  });

  it("keeps already quoted versions and * as they are", () => {
    expect([quoteVersion('"v1"'), quoteVersion('W/"v1"'), quoteVersion("*"), quoteVersion("v1")]).toEqual(['"v1"', 'W/"v1"', "*", '"v1"']);
  });

  it("turns 412 into a CONCURRENCY conflict without retrying", async () => {
    const { client, transport } = setup([{ status: 412, body: { error: { code: "VERSION_MISMATCH", message: "changed" } } }]);
    const error = await caught(client.update("mentor", "m-9", {}, { ifMatch: "v1" }));
    expect({ kind: error.kind, code: error.code, status: error.status }).toEqual({ kind: "conflict", code: "CONCURRENCY", status: 412 });
    expect(transport.seen).toHaveLength(1);
  });

  it("turns 422 into a permanent REJECTED error keeping the app's code and message", async () => {
    // Prepare
    const message = "certificationStatus must be one of active, expired, pending";
    const { client, transport } = setup([{ status: 422, body: { error: { code: "VALIDATION", message } } }]);
    // Act
    const error = await caught(client.create("mentor", { certificationStatus: "x" }, "dv-1"));
    // Assess
    expect({ kind: error.kind, code: error.code, remoteCode: error.remoteCode, message: error.message }).toEqual({ kind: "permanent", code: "REJECTED", remoteCode: "VALIDATION", message });
    expect(transport.seen).toHaveLength(1);
  });

  it.each([401, 403])("turns %i into an AUTH error that never carries the key", async (status) => {
    const { client, transport } = setup([{ status, body: { error: { code: "UNAUTHORIZED", message: "no" } } }]);
    const error = await caught(client.get("mentor", "m-1"));
    expect({ kind: error.kind, code: error.code }).toEqual({ kind: "auth", code: "AUTH" });
    expect(transport.seen).toHaveLength(1);
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain(KEY);
  });

  it("waits at least Retry-After before retrying a 429", async () => {
    // Prepare
    const { client, clock } = setup([{ status: 429, headers: { "retry-after": "2" } }, { status: 200, body: rec("m-1") }]);
    // Act
    const record = await client.get("mentor", "m-1");
    // Assess
    expect(record?.id).toBe("m-1");
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(2_000);
  });

  it("retries 5xx and network failures, then gives up after the policy's attempts", async () => {
    // Prepare
    const { client, transport, clock } = setup([{ status: 503 }, { error: new TypeError("fetch failed") }, { status: 500 }]);
    // Act
    const error = await caught(client.delete("mentor", "m-1"));
    // Assess
    expect(transport.seen).toHaveLength(3);
    expect(clock.sleeps).toHaveLength(2);
    expect({ kind: error.kind, code: error.code, status: error.status }).toEqual({ kind: "transient", code: "SERVER_BUSY", status: 500 });
  });

  it("reports a timeout as a transient TIMEOUT error", async () => {
    const { client } = setup([{ hang: true }], { timeoutMs: 20, maxAttempts: 1 });
    const error = await caught(client.get("mentor", "m-1"));
    expect({ kind: error.kind, code: error.code }).toEqual({ kind: "transient", code: "TIMEOUT" });
  });

  it("does not retry a create without dataverseId, which the app could not de-duplicate", async () => {
    const { client, transport } = setup([{ status: 503 }, { status: 201, body: written }]);
    const error = await caught(client.create("mentor", { firstName: "A" }));
    expect(error.code).toBe("SERVER_BUSY");
    expect(transport.seen).toHaveLength(1);
  });

  it("answers delete with true on 204 and false on 404", async () => {
    const { client } = setup([{ status: 204 }, { status: 404, body: { error: { code: "NOT_FOUND", message: "gone" } } }]);
    expect(await client.delete("mentor", "m-1")).toBe(true);
    expect(await client.delete("mentor", "m-1")).toBe(false);
  });

  it("treats a PATCH of a missing record as a permanent NOT_FOUND", async () => {
    const { client } = setup([{ status: 404, body: { error: { code: "NOT_FOUND", message: "gone" } } }]);
    const error = await caught(client.update("mentor", "m-1", { a: 1 }));
    expect({ kind: error.kind, code: error.code }).toEqual({ kind: "permanent", code: "NOT_FOUND" });
  });

  it("rejects a 2xx body that is not the documented shape", async () => {
    const { client } = setup([{ status: 200, body: { records: "none", nextCursor: "c", hasMore: false } }]);
    const error = await caught(collect(client.changes("mentor")));
    expect(error.code).toBe("UNEXPECTED_RESPONSE");
    expect(error.message).toMatch(/not a change page/);
  });

  it("hands on a record that is not the documented shape marked with its problem, not failing the page (#19)", async () => {
    const { client } = setup([{ status: 200, body: { records: [{ id: 1 }], nextCursor: "c", hasMore: false } }]);
    const [page] = await collect(client.changes("mentor"));
    expect(page.records).toEqual([expect.objectContaining({ data: null, deleted: false, problem: expect.stringMatching(/mentor record 1 of 1 on the first page has no id \(1\), has no version/) })]);
  });
});
