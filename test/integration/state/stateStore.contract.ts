import { beforeEach, describe, expect, it } from "vitest";
import type { SyncStateStore } from "../../../shared/ports.js";
import { aConflict, aDeadLetter, aRun, awkwardIds } from "./stateFixtures.js";
import { describeLinkContract } from "./stateStoreLinks.contract.js";

const concurrency = { kind: "conflict", code: "CONCURRENCY" };
const tooLarge = { kind: "validation", code: "PAYLOAD_TOO_LARGE" };

/** One behaviour suite for every SyncStateStore adapter (Table Storage and the memory fake). */
export function runStateStoreContract(name: string, factory: () => Promise<SyncStateStore>): void {
  describe(`${name} state store`, () => {
    let store: SyncStateStore;
    beforeEach(async () => {
      store = await factory();
    });

    describe("cursors", () => {
      it("returns null for a cursor never written", async () => {
        expect(await store.getCursor("mentors", "dataverse")).toBeNull();
      });

      it("stores a cursor per mapping and side and returns it with an etag", async () => {
        const saved = await store.putCursor({ mapping: "mentors", side: "dataverse", value: "https://x/api/data/v9.2/contacts?$deltatoken=1", takenAt: "2025-01-01T00:00:00.000Z" });
        await store.putCursor({ mapping: "mentors", side: "app", value: "app-cursor", takenAt: "2025-01-01T00:00:00.000Z" });

        const read = await store.getCursor("mentors", "dataverse");

        expect(read).toMatchObject({ mapping: "mentors", side: "dataverse", value: "https://x/api/data/v9.2/contacts?$deltatoken=1" });
        expect(read?.etag).toBe(saved.etag);
        expect((await store.getCursor("mentors", "app"))?.value).toBe("app-cursor");
      });

      it("moves a cursor when the etag is current and rejects a stale etag with CONCURRENCY", async () => {
        const first = await store.putCursor({ mapping: "mentors", side: "app", value: "c1", takenAt: "t1" });
        const second = await store.putCursor({ ...first, value: "c2" });

        await expect(store.putCursor({ ...first, value: "c3" })).rejects.toMatchObject(concurrency);
        expect(second.etag).not.toBe(first.etag);
        expect((await store.getCursor("mentors", "app"))?.value).toBe("c2");
      });

      it("keeps a cursor longer than one table property (a long delta link)", async () => {
        const value = "https://org/api/data/v9.2/contacts?$deltatoken=" + "9".repeat(70_000);
        await store.putCursor({ mapping: "mentors", side: "dataverse", value, takenAt: "t" });

        expect((await store.getCursor("mentors", "dataverse"))?.value).toBe(value);
      });

      it("deletes a cursor, and deleting a missing one is harmless", async () => {
        await store.putCursor({ mapping: "mentors", side: "app", value: "c1", takenAt: "t1" });
        await store.deleteCursor("mentors", "app");
        await store.deleteCursor("mentors", "app");

        expect(await store.getCursor("mentors", "app")).toBeNull();
      });
    });

    describeLinkContract(() => store);

    describe("runs", () => {
      it("creates and reads a run, and refuses a second run with the same id", async () => {
        const created = await store.createRun(aRun());

        expect(await store.getRun("run-1")).toEqual(created);
        await expect(store.createRun(aRun())).rejects.toMatchObject({ kind: "conflict", code: "DUPLICATE_KEY" });
        expect(await store.getRun("nope")).toBeNull();
      });

      it("lists a run once even after a refused duplicate with another start time", async () => {
        await store.createRun(aRun());
        await expect(store.createRun(aRun({ startedAt: "2025-02-01T00:00:00.000Z" }))).rejects.toMatchObject({ code: "DUPLICATE_KEY" });

        expect((await store.listRuns()).map((r) => r.runId)).toEqual(["run-1"]);
        expect((await store.getRun("run-1"))?.startedAt).toBe(aRun().startedAt);
      });

      it("lands every one of 20 concurrent counter updates", async () => {
        await store.createRun(aRun());

        await Promise.all(Array.from({ length: 20 }, () => store.updateRun("run-1", (r) => ({
          ...r, processed: r.processed + 1, toDataverse: { ...r.toDataverse, updated: r.toDataverse.updated + 1 },
        }))));

        const run = await store.getRun("run-1");
        expect(run?.processed).toBe(20);
        expect(run?.toDataverse.updated).toBe(20);
      });

      it("returns the updated run with a fresh etag and keeps its id", async () => {
        const created = await store.createRun(aRun());

        const updated = await store.updateRun("run-1", (r) => ({ ...r, runId: "other", status: "succeeded", notes: ["done"] }));

        expect(updated).toMatchObject({ runId: "run-1", status: "succeeded", notes: ["done"] });
        expect(updated.etag).not.toBe(created.etag);
        expect(await store.getRun("other")).toBeNull();
      });

      it("fails updateRun for a run that does not exist with NOT_FOUND", async () => {
        await expect(store.updateRun("ghost", (r) => r)).rejects.toMatchObject({ code: "NOT_FOUND" });
      });

      it("lists runs newest first, filtered by mapping and limited", async () => {
        const starts = ["2025-01-03", "2025-01-01", "2025-01-05", "2025-01-02", "2025-01-04"];
        for (const [i, day] of starts.entries()) {
          await store.createRun(aRun({ runId: `r${i}`, mapping: i % 2 ? "groups" : "mentors", startedAt: `${day}T02:00:00.000Z` }));
        }

        const all = await store.listRuns({ limit: 3 });
        const mentors = await store.listRuns({ mapping: "mentors" });

        expect(all.map((r) => r.startedAt.slice(0, 10))).toEqual(["2025-01-05", "2025-01-04", "2025-01-03"]);
        expect(mentors.map((r) => r.runId)).toEqual(["r2", "r4", "r0"]);
        expect(await store.listRuns({ mapping: "nothing" })).toEqual([]);
      });
    });

    describe("health", () => {
      it("creates health on the first update and accumulates later ones", async () => {
        expect(await store.getHealth("mentors", "toApp")).toBeNull();

        await store.updateHealth("mentors", "toApp", (h) => ({ ...h, consecutiveFailures: h.consecutiveFailures + 1, lastRunStatus: "failed" }));
        const second = await store.updateHealth("mentors", "toApp", (h) => ({ ...h, consecutiveFailures: h.consecutiveFailures + 1, lastRunAt: "t2" }));

        expect(second).toMatchObject({ mapping: "mentors", direction: "toApp", consecutiveFailures: 2, lastRunStatus: "failed", lastRunAt: "t2" });
        expect(await store.getHealth("mentors", "toApp")).toEqual(second);
        expect(await store.getHealth("mentors", "toDataverse")).toBeNull();
      });

      it("lands every one of 10 concurrent health updates, including the creating one", async () => {
        await Promise.all(Array.from({ length: 10 }, () =>
          store.updateHealth("mentors", "toDataverse", (h) => ({ ...h, consecutiveFailures: h.consecutiveFailures + 1 }))));

        expect((await store.getHealth("mentors", "toDataverse"))?.consecutiveFailures).toBe(10);
      });
    });

    describe("dead letters", () => {
      it("stores, reads, lists, counts and deletes dead letters by id", async () => {
        await store.putDeadLetter(aDeadLetter({ id: "dl-1" }));
        await store.putDeadLetter(aDeadLetter({ id: "dl-2" }));
        await store.putDeadLetter(aDeadLetter({ id: "dl-3", mapping: "groups" }));

        expect(await store.getDeadLetter("dl-1")).toEqual(aDeadLetter({ id: "dl-1" }));
        expect((await store.listDeadLetters({ mapping: "mentors" })).map((d) => d.id)).toEqual(["dl-1", "dl-2"]);
        expect(await store.listDeadLetters({ limit: 2 })).toHaveLength(2);
        expect(await store.countDeadLetters()).toBe(3);
        expect(await store.countDeadLetters("groups")).toBe(1);

        await store.deleteDeadLetter("dl-1");
        await store.deleteDeadLetter("dl-1");

        expect(await store.getDeadLetter("dl-1")).toBeNull();
        expect(await store.countDeadLetters("mentors")).toBe(1);
      });

      it("moves a dead letter re-filed under another mapping", async () => {
        await store.putDeadLetter(aDeadLetter({ id: "dl-1", mapping: "mentors" }));
        await store.putDeadLetter(aDeadLetter({ id: "dl-1", mapping: "groups", attempts: 4 }));

        expect(await store.countDeadLetters()).toBe(1);
        expect(await store.getDeadLetter("dl-1")).toMatchObject({ mapping: "groups", attempts: 4 });
      });

      it("handles awkward ids and refuses an oversized payload", async () => {
        for (const id of awkwardIds) await store.putDeadLetter(aDeadLetter({ id, recordId: id }));

        for (const id of awkwardIds) expect((await store.getDeadLetter(id))?.recordId).toBe(id);
        await expect(store.putDeadLetter(aDeadLetter({ id: "huge", payload: "x".repeat(500_000) }))).rejects.toMatchObject(tooLarge);
        expect(await store.getDeadLetter("huge")).toBeNull();
      });
    });

    describe("conflicts", () => {
      it("lists conflicts by mapping and status", async () => {
        await store.putConflict(aConflict({ id: "c-1" }));
        await store.putConflict(aConflict({ id: "c-2", status: "resolved" }));
        await store.putConflict(aConflict({ id: "c-3", mapping: "groups" }));

        expect((await store.listConflicts({ mapping: "mentors" })).map((c) => c.id)).toEqual(["c-1", "c-2"]);
        expect((await store.listConflicts({ status: "open" })).map((c) => c.id).sort()).toEqual(["c-1", "c-3"]);
        expect(await store.listConflicts({ mapping: "mentors", status: "resolved" })).toEqual([aConflict({ id: "c-2", status: "resolved" })]);
      });

      it("replaces a conflict written again with the same id", async () => {
        await store.putConflict(aConflict());
        await store.putConflict(aConflict({ status: "resolved" }));

        expect(await store.listConflicts()).toEqual([aConflict({ status: "resolved" })]);
      });
    });
  });
}
