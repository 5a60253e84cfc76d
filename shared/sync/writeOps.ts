import { gunzipSync, gzipSync } from "node:zlib";
import { ErrorCodes, SyncError } from "../errors.js";
import type { Canonical, DirectionKey, RunMode } from "../ports.js";
import type { RecordFailure } from "./decide.js";

/** Messages on the queues (shared/names.ts). Kept small: values are canonical, bodies are built by the writer. */

export interface RunMessage {
  runId: string;
  mapping: string;
  mode: RunMode;
  dryRun: boolean;
  trigger: "timer" | "manual" | "cli" | "startup" | "webhook";
  /** Runs of parent mappings (lookup targets) that must finish before this one plans. */
  after?: string[];
  /** How many times the run waited for its parents. */
  waits?: number;
}

export type WriteKind = "create" | "update" | "delete" | "deactivate";

export interface WriteOp {
  kind: WriteKind;
  /** App id of the record when known (always for writes to Dataverse except DV-only deletes). */
  appId?: string;
  /** Dataverse id when known. */
  dataverseId?: string;
  /** Canonical values to write: all fields for a create, only the changed ones for an update. */
  values: Canonical;
  /** Canonical values both sides hold after this write: the new base of the link. */
  base: Canonical;
  /** App version read in this run (sent as If-Match on app updates). */
  appVersion?: string;
  dataverseVersion?: string;
  /** Attempts made so far (0 on the first delivery). */
  attempt: number;
  /** A fresh re-read instead of planned values (webhook notices): the writer re-plans this record. */
  refresh?: boolean;
  /**
   * `base` is the record's whole base and the link (if any) keeps both ids: the writer may store the
   * link without reading and merging the existing one (batched, shared/ports.ts putLinks).
   */
  fullBase?: boolean;
  /**
   * A write a refresh decided on behalf of one planned op: it counts in created/updated/failed but
   * not as a planned op of the run (the op it replaced is counted once, by the refresh).
   */
  uncounted?: boolean;
  /**
   * An app update decided without reading the app record (a Dataverse notice, refresh.ts): its
   * If-Match is the link's app version, and a 412 or 404 sends the record to a fresh re-read.
   */
  appUnread?: boolean;
  /**
   * Decided for a pair that had no link (matched by key): its link is stored as a claim (Link.claim).
   * Refused, because a writer linked the app record to another row meanwhile, the record is read and
   * decided again.
   */
  pairedByKey?: boolean;
  /** Dead letters of this record, removed once this write succeeds. */
  clearDeadLetters?: string[];
  /** When the source record changed (app updatedAt / Dataverse modifiedon): sync lag is measured from it. */
  changedAt?: string;
}

export interface WriteMessage {
  runId: string;
  mapping: string;
  direction: DirectionKey;
  /** Empty when the ops travel compressed in `opsGz`. */
  ops: WriteOp[];
  /** The ops as gzip-compressed JSON, base64: lets a message carry several times more records. */
  opsGz?: string;
  /**
   * Set when the message's one record fits no queue message even compressed: its ops wait in the
   * state store's payloads under this id (`ops` is empty). The writer loads them, and deletes them
   * once the message is done.
   */
  payloadRef?: string;
}

/** A single-record change notice from a webhook; the worker re-reads both sides fresh. */
export interface RecordEventMessage {
  mapping: string;
  side: "dataverse" | "app";
  id: string;
  message?: "Create" | "Update" | "Delete";
  correlationId?: string;
  receivedAt: string;
}

export function recordIdOf(direction: DirectionKey, op: WriteOp): string {
  return direction === "toDataverse" ? (op.appId ?? op.dataverseId ?? "?") : (op.dataverseId ?? op.appId ?? "?");
}

/**
 * Largest JSON (UTF-8 bytes) of a whole write message: the queue adapter base64-encodes it, which
 * adds a third, and Storage queues take at most 64 KiB. A message above this is never sent.
 */
export const MAX_WRITE_MESSAGE_BYTES = 46_000;
/** Below this the ops go plain (readable in the queue); above it, gzip usually fits 5-10 times more. */
const COMPRESS_ABOVE_BYTES = 8_000;

/**
 * The message for `ops`, compressed when that is what makes it fit, or `null` when it does not
 * fit even compressed (the caller splits the chunk).
 */
export function packWriteMessage(head: Omit<WriteMessage, "ops" | "opsGz">, ops: WriteOp[]): WriteMessage | null {
  return packMeasured(head, ops).message;
}

/** packWriteMessage, with the size of the plain message (an upper bound on each record's size). */
function packMeasured(head: Omit<WriteMessage, "ops" | "opsGz">, ops: WriteOp[]): { message: WriteMessage | null; plainBytes: number } {
  const plain: WriteMessage = { ...head, ops };
  const plainBytes = Buffer.byteLength(JSON.stringify(plain));
  if (plainBytes <= COMPRESS_ABOVE_BYTES) return { message: plain, plainBytes };
  const packed: WriteMessage = { ...head, ops: [], opsGz: gzipSync(JSON.stringify(ops)).toString("base64") };
  const packedBytes = Buffer.byteLength(JSON.stringify(packed));
  if (packedBytes < plainBytes && packedBytes <= MAX_WRITE_MESSAGE_BYTES) return { message: packed, plainBytes };
  return { message: plainBytes <= MAX_WRITE_MESSAGE_BYTES ? plain : null, plainBytes };
}

/** The ops of a write message, plain or compressed (messages from before compression have only `ops`). */
export function writeOpsOf(msg: WriteMessage): WriteOp[] {
  if (!msg.opsGz) return msg.ops ?? [];
  return [...(msg.ops ?? []), ...(JSON.parse(gunzipSync(Buffer.from(msg.opsGz, "base64")).toString("utf8")) as WriteOp[])];
}

/**
 * Largest record: the JSON (UTF-8 bytes) of its values or of its base, whichever is larger. The
 * app's body limit is 1 MiB too, and a record this size already spans several Table entities out of
 * band. A record above it fails RECORD_TOO_LARGE before anything is sent, alone.
 */
export const MAX_RECORD_JSON_BYTES = 1_048_576;

type MessageHead = Omit<WriteMessage, "ops" | "opsGz" | "payloadRef">;

/** How a chunk leaves: queue messages, single records stored out of band, records too large to send. */
export type QueuePart =
  | { kind: "message"; message: WriteMessage }
  | { kind: "outOfBand"; op: WriteOp }
  | { kind: "tooLarge"; op: WriteOp; bytes: number };

/**
 * What `ops` become on the queue. A record beyond MAX_RECORD_JSON_BYTES fails, however well it
 * compresses. A chunk that does not fit one message even compressed is halved until it does, and a
 * record that fits no message alone travels out of band (its message carries only a reference).
 * Size is decided per record, so one large record never holds back its neighbours.
 */
export function packForQueue(head: MessageHead, ops: WriteOp[]): QueuePart[] {
  if (!ops.length) return [];
  const whole = packMeasured(head, ops);
  // A chunk within the limit as a whole has no record beyond it: only larger ones are measured record by record.
  if (whole.plainBytes <= MAX_RECORD_JSON_BYTES && whole.message) return [{ kind: "message", message: whole.message }];
  const parts: QueuePart[] = [];
  const sendable: WriteOp[] = [];
  for (const op of ops) {
    const bytes = whole.plainBytes > MAX_RECORD_JSON_BYTES ? recordBytes(op) : 0;
    if (bytes > MAX_RECORD_JSON_BYTES) parts.push({ kind: "tooLarge", op, bytes });
    else sendable.push(op);
  }
  // `known`: the chunk was already packed (null: it did not fit).
  const pack = (chunk: WriteOp[], known?: WriteMessage | null): void => {
    if (!chunk.length) return;
    const message = known !== undefined ? known : packWriteMessage(head, chunk);
    if (message) return void parts.push({ kind: "message", message });
    if (chunk.length === 1) return void parts.push({ kind: "outOfBand", op: chunk[0] });
    const half = Math.ceil(chunk.length / 2);
    pack(chunk.slice(0, half));
    pack(chunk.slice(half));
  };
  pack(sendable, sendable.length === ops.length ? whole.message : undefined);
  return parts;
}

/** The queue message of ops stored out of band under `payloadRef`: a few hundred bytes whatever their size. */
export function outOfBandMessage(head: MessageHead, payloadRef: string): WriteMessage {
  return { ...head, ops: [], payloadRef };
}

/** The text an out-of-band payload stores (plain JSON: what gets here barely compresses anyway). */
export function payloadText(ops: WriteOp[]): string {
  return JSON.stringify(ops);
}

export function opsOfPayload(text: string, payloadRef: string): WriteOp[] {
  const ops = JSON.parse(text) as unknown;
  if (!Array.isArray(ops)) throw new SyncError("validation", ErrorCodes.BadRequest, `out-of-band payload ${payloadRef} does not hold a list of write ops`);
  return ops as WriteOp[];
}

/** Bytes of the record's JSON: its values or its base, whichever is larger (a create holds the record in both). */
export function recordBytes(op: WriteOp): number {
  return Math.max(jsonBytes(op.values), jsonBytes(op.base));
}

/**
 * The failure of a record beyond MAX_RECORD_JSON_BYTES. The message names its largest fields, so an
 * operator knows what to shorten or unmap; the dead letter keeps a reference to the record (a
 * refresh op: a replay reads both sides fresh), not its values, which would not fit there either.
 */
export function recordTooLarge(direction: DirectionKey, op: WriteOp, bytes: number): RecordFailure {
  const recordId = recordIdOf(direction, op);
  const fields = largestFields(op, 3);
  const message = `record ${recordId} is ${bytes} bytes of JSON; a record may be at most ${MAX_RECORD_JSON_BYTES} bytes ` +
    `(largest fields: ${fields.map(([field, n]) => `${field} ${n} bytes`).join(", ")}). Shorten those values or leave the field out of the mapping`;
  const reference: WriteOp = { kind: op.kind, appId: op.appId, dataverseId: op.dataverseId, values: {}, base: {}, attempt: 0, refresh: true };
  return {
    direction, recordId, code: ErrorCodes.RecordTooLarge, message, retryable: false,
    payload: { direction, op: reference, recordBytes: bytes, fieldBytes: Object.fromEntries(fields) },
  };
}

function largestFields(op: WriteOp, count: number): [string, number][] {
  const sizes = new Map<string, number>();
  for (const source of [op.values, op.base ?? {}]) {
    for (const [field, value] of Object.entries(source)) sizes.set(field, Math.max(sizes.get(field) ?? 0, jsonBytes(value)));
  }
  return [...sizes].sort((a, b) => b[1] - a[1]).slice(0, count);
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}
