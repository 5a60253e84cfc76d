import { beforeEach, describe, expect, it } from "vitest";
import type { WorkQueue } from "../../../shared/ports.js";

export interface WorkItem {
  mapping: string;
  ids: string[];
  note?: string;
}

export type TestQueue = WorkQueue<WorkItem> & { ensure(): Promise<void>; poison(): WorkQueue<WorkItem> };

const LEASE_MS = 60_000;

/** One behaviour suite for every WorkQueue adapter (Storage Queues and the memory queue). */
export function runWorkQueueContract(name: string, factory: () => Promise<TestQueue>): void {
  describe(`${name} work queue`, () => {
    let queue: TestQueue;
    beforeEach(async () => {
      queue = await factory();
      await queue.ensure();
    });

    it("round-trips a JSON message with its first dequeue count", async () => {
      const body = { mapping: "mentors", ids: ["m-0001", "ü/😀"], note: "quote \" and newline \n" };
      await queue.send(body);

      const [message, ...rest] = await queue.receive(10, LEASE_MS);

      expect(rest).toEqual([]);
      expect(message.body).toEqual(body);
      expect(message.dequeueCount).toBe(1);
    });

    it("hides a received message for the lease and removes it on complete", async () => {
      await queue.send({ mapping: "mentors", ids: ["a"] });
      const [message] = await queue.receive(1, LEASE_MS);

      expect(await queue.receive(1, LEASE_MS)).toEqual([]);
      expect(await queue.approximateCount()).toBe(1);
      await queue.complete(message);
      expect(await queue.approximateCount()).toBe(0);
    });

    it("redelivers an abandoned message without delay with a higher dequeue count", async () => {
      await queue.send({ mapping: "mentors", ids: ["a"] });
      const [first] = await queue.receive(1, LEASE_MS);

      await queue.abandon(first, 0);
      const [again] = await queue.receive(1, LEASE_MS);

      expect(again.id).toBe(first.id);
      expect(again.dequeueCount).toBe(2);
      expect(again.body).toEqual({ mapping: "mentors", ids: ["a"] });
    });

    it("keeps a message abandoned with a delay hidden", async () => {
      await queue.send({ mapping: "mentors", ids: ["a"] });
      const [first] = await queue.receive(1, 1_000);

      await queue.abandon(first, 3_600_000);

      expect(await queue.receive(1, LEASE_MS)).toEqual([]);
      expect(await queue.approximateCount()).toBe(1);
    });

    it("rejects completing with a pop receipt made stale by abandon", async () => {
      await queue.send({ mapping: "mentors", ids: ["a"] });
      const [first] = await queue.receive(1, LEASE_MS);
      await queue.abandon(first, 0);

      await expect(queue.complete(first)).rejects.toMatchObject({ kind: "conflict", code: "CONCURRENCY" });
      expect(await queue.approximateCount()).toBe(1);
    });

    it("extends a lease with a new pop receipt: the old receipt is stale, the new one completes", async () => {
      await queue.send({ mapping: "mentors", ids: ["a"] });
      const [message] = await queue.receive(1, LEASE_MS);
      const before = { ...message };

      await queue.extend(message, LEASE_MS);

      expect(message.popReceipt).not.toBe(before.popReceipt);
      expect(await queue.receive(1, LEASE_MS)).toEqual([]);
      await expect(queue.complete(before)).rejects.toMatchObject({ kind: "conflict", code: "CONCURRENCY" });
      await queue.complete(message);
      expect(await queue.approximateCount()).toBe(0);
    });

    it("refuses to extend a lease that was lost", async () => {
      await queue.send({ mapping: "mentors", ids: ["a"] });
      const [message] = await queue.receive(1, LEASE_MS);
      await queue.abandon({ ...message }, 0);

      await expect(queue.extend(message, LEASE_MS)).rejects.toMatchObject({ kind: "conflict", code: "CONCURRENCY" });
    });

    it("holds back a message sent with a delay", async () => {
      await queue.send({ mapping: "mentors", ids: ["later"] }, { delayMs: 3_600_000 });
      await queue.send({ mapping: "mentors", ids: ["now"] });

      const received = await queue.receive(32, LEASE_MS);

      expect(received.map((m) => m.body.ids[0])).toEqual(["now"]);
      expect(await queue.approximateCount()).toBe(2);
    });

    it("accepts a delay beyond 7 days by capping it", async () => {
      await queue.send({ mapping: "mentors", ids: ["far"] }, { delayMs: 30 * 24 * 3_600_000 });

      expect(await queue.approximateCount()).toBe(1);
      expect(await queue.receive(1, LEASE_MS)).toEqual([]);
    });

    it("returns at most 32 messages per receive", async () => {
      await Promise.all(Array.from({ length: 40 }, (_, i) => queue.send({ mapping: "mentors", ids: [`m-${i}`] })));

      const first = await queue.receive(100, LEASE_MS);
      const second = await queue.receive(100, LEASE_MS);

      expect(first).toHaveLength(32);
      expect(second).toHaveLength(8);
    });

    it("refuses a message over 64 KB before sending it", async () => {
      const ids = Array.from({ length: 6_000 }, (_, i) => `mentor-${String(i).padStart(6, "0")}`);

      await expect(queue.send({ mapping: "mentors", ids })).rejects.toMatchObject({ kind: "validation", code: "PAYLOAD_TOO_LARGE" });
      expect(await queue.approximateCount()).toBe(0);
    });

    it("keeps the poison queue separate and named <name>-poison", async () => {
      const poison = queue.poison();
      await poison.send({ mapping: "mentors", ids: ["dead"] });

      expect(poison.name).toBe(`${queue.name}-poison`);
      expect(await queue.approximateCount()).toBe(0);
      expect((await poison.receive(1, LEASE_MS))[0].body.ids).toEqual(["dead"]);
    });
  });
}
