import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAppClient } from "../../../shared/app/index.js";
import { SyncError } from "../../../shared/errors.js";
import type { AppClient, AppRecord, Clock } from "../../../shared/ports.js";
import { startSampleApp, type SampleApp } from "../../emulators/app/index.js";

const KEY = "integration-key";
const DV_ID = "c0a80001-0000-4000-8000-000000000004";

/** Back-off is recorded, not waited for. */
const instantClock = (): Clock & { sleeps: number[] } => {
  const sleeps: number[] = [];
  return { sleeps, now: () => Date.now(), sleep: async (ms: number) => void sleeps.push(ms) };
};

async function caught(p: Promise<unknown>): Promise<SyncError> {
  try {
    await p;
  } catch (e) {
    return e as SyncError;
  }
  throw new Error("expected a rejection");
}

describe("app client against the sample app", () => {
  let app: SampleApp;
  let client: AppClient;
  let clock: ReturnType<typeof instantClock>;

  beforeEach(async () => {
    app = await startSampleApp({ apiKey: KEY, basePath: "/api/v1", seed: true });
    clock = instantClock();
    client = createAppClient({ baseUrl: app.baseUrl, apiKey: KEY, clock, timeoutMs: 5_000 });
  });
  afterEach(async () => {
    await app.stop();
  });

  it("reads the whole change feed in pages and then only what changed after the last cursor", async () => {
    // Prepare
    const all: AppRecord[] = [];
    let cursor = "";
    for await (const page of client.changes("mentor", undefined, 3)) {
      all.push(...page.records);
      cursor = page.nextCursor;
    }
    app.patch("mentor", "m-0005", { score: 1 });
    app.remove("mentor", "m-0006");
    // Act
    const later: AppRecord[] = [];
    for await (const page of client.changes("mentor", cursor, 3)) later.push(...page.records);
    // Assess
    expect(all).toHaveLength(8);
    expect(app.requests.filter((r) => r.path.startsWith("/sync/mentor/changes"))).toHaveLength(4);
    expect(later.map((r) => [r.id, r.deleted])).toEqual([["m-0005", false], ["m-0006", true]]);
  });

  it("creates, reads, updates with If-Match and deletes a record", async () => {
    // Act
    const created = await client.create("mentor", { firstName: "Emil", lastName: "Dahl", certificationStatus: "active" }, DV_ID);
    const read = await client.get("mentor", created.id);
    const updated = await client.update("mentor", created.id, { score: 92 }, { ifMatch: created.version });
    const deleted = await client.delete("mentor", created.id);
    // Assess
    expect(created.id).toBe("m-0009");
    expect(read).toMatchObject({ id: "m-0009", deleted: false, data: { firstName: "Emil", lastName: "Dahl" } });
    expect(updated.version).not.toBe(created.version);
    expect(deleted).toBe(true);
    expect(await client.get("mentor", created.id)).toBeNull();
    expect(await client.delete("mentor", created.id)).toBe(false);
  });

  it("fails an update with a stale version as a CONCURRENCY conflict", async () => {
    // Prepare
    const before = (await client.get("mentor", "m-0001"))!;
    app.patch("mentor", "m-0001", { score: 1 });
    // Act
    const error = await caught(client.update("mentor", "m-0001", { score: 2 }, { ifMatch: before.version }));
    // Assess
    expect({ kind: error.kind, code: error.code }).toEqual({ kind: "conflict", code: "CONCURRENCY" });
    expect(app.get("mentor", "m-0001")!.data!.score).toBe(1);
  });

  it("surfaces the app's validation message as a permanent REJECTED error", async () => {
    const error = await caught(client.update("mentor", "m-0001", { certificationStatus: "suspended" }));
    expect({ kind: error.kind, code: error.code, remoteCode: error.remoteCode, message: error.message }).toEqual({
      kind: "permanent", code: "REJECTED", remoteCode: "VALIDATION", message: "certificationStatus must be one of active, expired, pending",
    });
  });

  it("fails with AUTH when the key is wrong", async () => {
    const wrong = createAppClient({ baseUrl: app.baseUrl, apiKey: "not-the-key", clock });
    const error = await caught(wrong.get("mentor", "m-0001"));
    expect(error.code).toBe("AUTH");
    expect(error.message).not.toContain("not-the-key");
  });

  it("retries through scripted 503s honouring Retry-After", async () => {
    // Prepare
    app.failNext({ method: "GET", status: 503, count: 2, headers: { "retry-after": "3" } });
    // Act
    const record = await client.get("mentor", "m-0002");
    // Assess
    expect(record?.id).toBe("m-0002");
    expect(clock.sleeps).toHaveLength(2);
    expect(clock.sleeps.every((ms) => ms >= 3_000)).toBe(true);
  });

  it("does not duplicate a record when the create's answer is lost and the client retries", async () => {
    // Prepare
    app.failNext({ method: "POST", afterHandling: true, dropConnection: true });
    // Act
    const created = await client.create("mentor", { firstName: "Nora", certificationStatus: "pending" }, DV_ID);
    // Assess
    const posts = app.requests.filter((r) => r.method === "POST");
    expect(posts).toHaveLength(2);
    expect(app.list("mentor").filter((r) => r.dataverseId === DV_ID).map((r) => r.id)).toEqual([created.id]);
    expect(clock.sleeps).toHaveLength(1);
  });
});
