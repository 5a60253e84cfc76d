import { describe, expect, it } from "vitest";
import type { WorkQueue } from "../../../shared/ports.js";
import { GroupCommitDefaults, groupCommitted } from "../../../shared/state/groupCommitQueue.js";
import { isNoticeGroup, noticesOf, type RecordEventBody } from "../../../shared/state/noticeGroups.js";
import { MAX_QUEUE_MESSAGE_CHARS } from "../../../shared/state/queueMessages.js";
import { createStorageQueue, type StorageWorkQueue } from "../../../shared/state/storageQueue.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";

const notice = (i: number, extra: Partial<RecordEventMessage> = {}): RecordEventMessage =>
  ({ mapping: "mentors", side: "dataverse", id: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`, message: "Update", receivedAt: "2026-01-01T00:00:00.000Z", ...extra });

/** A record-events queue on Azurite whose sends wait for `release` once armed (a slow network), counting them. */
async function gatedQueue() {
  const queue = await createStorageQueue<RecordEventBody>({ connectionString: azuriteConnectionString(), name: uniqueName("rev") });
  await queue.ensure();
  const waiting: (() => void)[] = [];
  const gate = { armed: false, sends: 0, stored: 0, release: () => waiting.splice(0).forEach((go) => go()), fail: undefined as Error | undefined };
  const send = queue.send.bind(queue);
  queue.send = async (body, options) => {
    gate.sends++;
    if (gate.armed) await new Promise<void>((resolve) => waiting.push(resolve));
    if (gate.fail) throw gate.fail;
    await send(body, options);
    gate.stored++;
  };
  return { queue, gate };
}

async function drain(queue: StorageWorkQueue<RecordEventBody>): Promise<RecordEventBody[]> {
  const bodies: RecordEventBody[] = [];
  for (let batch = await queue.receive(32, 30_000); batch.length; batch = await queue.receive(32, 30_000)) {
    for (const m of batch) {
      bodies.push(m.body);
      await queue.complete(m);
    }
  }
  return bodies;
}

describe("group commit of record-event notices", () => {
  it("sends notices that arrive while a send is in flight as one message, and resolves each only once that message is stored", async () => {
    const { queue, gate } = await gatedQueue();
    const grouped = groupCommitted(queue);
    gate.armed = true;
    const settled: number[] = [];

    const first = grouped.send(notice(0)).then(() => settled.push(0));
    const rest = Array.from({ length: 20 }, (_, i) => grouped.send(notice(i + 1)).then(() => settled.push(i + 1)));
    await Promise.resolve();
    // The first notice's send is in flight; nothing is answered before its message is stored.
    expect(gate.sends).toBe(1);
    expect(settled).toEqual([]);
    gate.armed = false;
    gate.release();
    await first;
    await Promise.all(rest);

    expect(gate.sends).toBe(2);
    expect(gate.stored).toBe(2);
    const bodies = await drain(queue);
    expect(bodies).toHaveLength(2);
    // A lone notice goes as it always did; the twenty that waited share one message.
    expect(isNoticeGroup(bodies[0])).toBe(false);
    expect(isNoticeGroup(bodies[1])).toBe(true);
    expect(bodies.flatMap(noticesOf).map((n) => n.id).sort()).toEqual(Array.from({ length: 21 }, (_, i) => notice(i).id).sort());
  });

  it("fails every notice of a group whose send failed, so each delivery is refused and nothing is answered as stored", async () => {
    const { queue, gate } = await gatedQueue();
    const grouped = groupCommitted(queue);
    gate.armed = true;
    const first = grouped.send(notice(0));
    const results = Array.from({ length: 5 }, (_, i) => grouped.send(notice(i + 1)).then(() => "stored", (e: Error) => e.message));
    gate.fail = new Error("queue unavailable");
    gate.armed = false;
    gate.release();

    await expect(first).rejects.toThrow("queue unavailable");
    expect(await Promise.all(results)).toEqual(Array(5).fill("queue unavailable"));
    expect(await drain(queue)).toEqual([]);
  });

  it("keeps each message under the 64 KB queue limit, splitting a burst of large notices over several messages", async () => {
    const { queue, gate } = await gatedQueue();
    const grouped = groupCommitted(queue);
    // Notices of about 9 KB each (a long mapping name and the longest correlation id kept): 5 fit a message.
    const big = (i: number) => notice(i, { mapping: `m${"x".repeat(9_000)}`, correlationId: "c".repeat(128) });
    gate.armed = true;
    const first = grouped.send(big(0));
    const rest = Array.from({ length: 30 }, (_, i) => grouped.send(big(i + 1)));
    gate.armed = false;
    gate.release();
    await Promise.all([first, ...rest]);

    const bodies = await drain(queue);
    expect(bodies.flatMap(noticesOf)).toHaveLength(31);
    for (const body of bodies) {
      expect(Buffer.from(JSON.stringify(body)).toString("base64").length).toBeLessThanOrEqual(MAX_QUEUE_MESSAGE_CHARS);
      expect(noticesOf(body).length).toBeLessThanOrEqual(GroupCommitDefaults.maxNotices);
    }
    expect(bodies.length).toBeGreaterThanOrEqual(1 + Math.ceil(30 / 5));
  });

  it("sends a delayed notice (a deferral or a retry) at once as its own message", async () => {
    const { queue, gate } = await gatedQueue();
    const grouped: WorkQueue<RecordEventMessage> = groupCommitted(queue);
    gate.armed = true;
    const first = grouped.send(notice(0));
    const delayed = grouped.send(notice(1), { delayMs: 1_000 });
    await Promise.resolve();

    expect(gate.sends).toBe(2);
    gate.armed = false;
    gate.release();
    await Promise.all([first, delayed]);
    expect(gate.stored).toBe(2);
    // The undelayed one is visible now, alone; the delayed one only later.
    expect((await drain(queue)).map((b) => isNoticeGroup(b))).toEqual([false]);
  });
});
