import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodeQueueMessage, MAX_QUEUE_MESSAGE_CHARS } from "../../../shared/state/queueMessages.js";
import {
  MAX_RECORD_JSON_BYTES, opsOfPayload, outOfBandMessage, packForQueue, payloadText, recordTooLarge, writeOpsOf,
  type QueuePart, type WriteOp,
} from "../../../shared/sync/writeOps.js";

const head = { runId: "run-1", mapping: "mentors", direction: "toDataverse" as const };

function mentorOp(i: number, extra: Record<string, unknown> = {}): WriteOp {
  const id = `m-${String(i).padStart(6, "0")}`;
  const values = { id, firstName: `First${i}`, lastName: `Last${i}`, email: `${id}@example.org`, score: i % 100, ...extra };
  return { kind: "create", appId: id, values, base: values, attempt: 0 };
}

/** Random hex: gzip gets it down to half at best, so `bytes` of it stay above bytes/2 compressed. */
const noise = (bytes: number) => randomBytes(Math.floor(bytes / 2)).toString("hex") + (bytes % 2 ? "0" : "");

/** Every op the parts carry, in order, with where it went. */
function routes(parts: QueuePart[]): { appId?: string; via: QueuePart["kind"] }[] {
  return parts.flatMap((p): { appId?: string; via: QueuePart["kind"] }[] =>
    p.kind === "message" ? writeOpsOf(p.message).map((op) => ({ appId: op.appId, via: p.kind })) : [{ appId: p.op.appId, via: p.kind }]);
}

describe("packing writes for the queue, record by record", () => {
  it("sends a chunk that fits as one message", () => {
    const ops = Array.from({ length: 10 }, (_, i) => mentorOp(i));

    const parts = packForQueue(head, ops);

    expect(parts).toEqual([{ kind: "message", message: { ...head, ops } }]);
  });

  it("sends a record that fits no message alone out of band, and its neighbours in messages", () => {
    // 60 KB of noise twice (values and base): far beyond one message even compressed.
    const ops = Array.from({ length: 20 }, (_, i) => mentorOp(i, i === 7 ? { notes: noise(60_000) } : {}));

    const parts = packForQueue(head, ops);

    const carried = routes(parts);
    expect(carried.map((c) => c.appId).sort()).toEqual(ops.map((o) => o.appId).sort());
    expect(carried.filter((c) => c.via === "outOfBand")).toEqual([{ appId: "m-000007", via: "outOfBand" }]);
    expect(carried.filter((c) => c.via === "tooLarge")).toEqual([]);
    for (const p of parts) if (p.kind === "message") expect(encodeQueueMessage(p.message, "dataverse-writes").length).toBeLessThanOrEqual(MAX_QUEUE_MESSAGE_CHARS);
  });

  it("keeps a record of about 20 KB of random ASCII in a message: gzip finds the copy in base within its window", () => {
    const ops = [mentorOp(1, { notes: noise(20_000) })];

    const parts = packForQueue(head, ops);

    expect(parts.map((p) => p.kind)).toEqual(["message"]);
  });

  it("fails a record beyond the record limit however well it compresses, and packs its neighbours", () => {
    const huge = mentorOp(3, { notes: "x".repeat(MAX_RECORD_JSON_BYTES) });
    const ops = [mentorOp(1), mentorOp(2), huge, mentorOp(4)];

    const parts = packForQueue(head, ops);

    expect(parts.filter((p) => p.kind === "tooLarge")).toEqual([{ kind: "tooLarge", op: huge, bytes: Buffer.byteLength(JSON.stringify(huge.values)) }]);
    expect(routes(parts).filter((c) => c.via === "message").map((c) => c.appId)).toEqual(["m-000001", "m-000002", "m-000004"]);
  });

  it("measures a record by the larger of its values and its base (an update's values hold only the changed fields)", () => {
    const op: WriteOp = { ...mentorOp(5), kind: "update", values: { score: 1 }, base: { notes: noise(MAX_RECORD_JSON_BYTES + 2) } };

    expect(packForQueue(head, [op]).map((p) => p.kind)).toEqual(["tooLarge"]);
  });

  it("lets a record exactly at the limit through", () => {
    const op = mentorOp(6);
    const filler = MAX_RECORD_JSON_BYTES - Buffer.byteLength(JSON.stringify({ ...op.values, notes: "" }));
    const atLimit = mentorOp(6, { notes: noise(filler) });
    expect(Buffer.byteLength(JSON.stringify(atLimit.values))).toBe(MAX_RECORD_JSON_BYTES);

    expect(packForQueue(head, [atLimit]).map((p) => p.kind)).toEqual(["outOfBand"]);
  });

  it("puts only a reference on the queue for an out-of-band record, and restores the ops from the payload exactly", () => {
    const op = mentorOp(8, { notes: noise(60_000) + "æøå 漢字 🙂" });

    const msg = outOfBandMessage(head, "payload-1");

    expect(msg).toEqual({ ...head, ops: [], payloadRef: "payload-1" });
    expect(encodeQueueMessage(msg, "dataverse-writes").length).toBeLessThan(300);
    expect(opsOfPayload(payloadText([op]), "payload-1")).toEqual([op]);
    expect(() => opsOfPayload("{}", "payload-1")).toThrow(expect.objectContaining({ code: "BAD_REQUEST", message: expect.stringContaining("payload-1") }));
  });
});

describe("a record too large to send", () => {
  it("fails with RECORD_TOO_LARGE, naming the limit and its largest fields, and keeps only a reference to the record", () => {
    const op = mentorOp(9, { notes: "n".repeat(1_100_000), summary: "s".repeat(5_000) });
    const bytes = Buffer.byteLength(JSON.stringify(op.values));

    const failure = recordTooLarge("toDataverse", op, bytes);

    expect(failure).toMatchObject({ direction: "toDataverse", recordId: "m-000009", code: "RECORD_TOO_LARGE", retryable: false });
    expect(failure.message).toBe(`record m-000009 is ${bytes} bytes of JSON; a record may be at most ${MAX_RECORD_JSON_BYTES} bytes ` +
      "(largest fields: notes 1100002 bytes, summary 5002 bytes, email 22 bytes). Shorten those values or leave the field out of the mapping");
    expect(failure.payload).toEqual({
      direction: "toDataverse", recordBytes: bytes, fieldBytes: { notes: 1_100_002, summary: 5_002, email: 22 },
      op: { kind: "create", appId: "m-000009", dataverseId: undefined, values: {}, base: {}, attempt: 0, refresh: true },
    });
    expect(JSON.stringify(failure.payload).length).toBeLessThan(500);
  });
});
