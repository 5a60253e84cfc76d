import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MAX_WRITE_MESSAGE_BYTES, packWriteMessage, writeOpsOf, type WriteOp } from "../../../shared/sync/writeOps.js";
import { encodeQueueMessage, MAX_QUEUE_MESSAGE_CHARS } from "../../../shared/state/queueMessages.js";

const head = { runId: "run-1", mapping: "mentors", direction: "toDataverse" as const };

function mentorOp(i: number): WriteOp {
  const id = `m-${String(i).padStart(6, "0")}`;
  const values = { id, firstName: `First${i}`, lastName: `Last${i}`, email: `${id}@example.org`, certificationStatus: "active", score: i % 100, hourlyRate: 42.5, isPublic: i % 2 === 0, groupId: `g-${i % 10}`, certifiedUntil: "2026-12-31", lastContactAt: null };
  return { kind: "create", appId: id, dataverseId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, values, base: values, attempt: 0 };
}

describe("write message packing", () => {
  it("keeps a small message plain and readable", () => {
    const ops = [mentorOp(1), mentorOp(2)];

    const msg = packWriteMessage(head, ops);

    expect(msg).toEqual({ ...head, ops });
    expect(msg?.opsGz).toBeUndefined();
  });

  it("compresses 500 mentor ops into one message under the queue limit and restores them exactly", () => {
    const ops = Array.from({ length: 500 }, (_, i) => mentorOp(i));

    const msg = packWriteMessage(head, ops)!;

    expect(msg.ops).toEqual([]);
    expect(msg.opsGz).toBeTypeOf("string");
    expect(encodeQueueMessage(msg, "dataverse-writes").length).toBeLessThanOrEqual(MAX_QUEUE_MESSAGE_CHARS);
    expect(writeOpsOf(msg)).toEqual(ops);
  });

  it("refuses a chunk that would not fit even compressed, so the caller splits it", () => {
    // Random text barely compresses: 400 ops of 400 hex characters are far beyond one message.
    const noisy = Array.from({ length: 400 }, (_, i) => ({ ...mentorOp(i), values: { notes: randomBytes(200).toString("hex") } }));

    expect(packWriteMessage(head, noisy)).toBeNull();
    expect(Buffer.byteLength(JSON.stringify(packWriteMessage(head, noisy.slice(0, 20))))).toBeLessThanOrEqual(MAX_WRITE_MESSAGE_BYTES);
  });

  it("reads the ops of a message written before compression existed", () => {
    const ops = [mentorOp(7)];

    expect(writeOpsOf({ ...head, ops })).toEqual(ops);
  });
});
