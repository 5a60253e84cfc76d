import { gunzipSync, gzipSync } from "node:zlib";
import type { Canonical, DirectionKey } from "../ports.js";

/** Messages on the queues (shared/names.ts). Kept small: values are canonical, bodies are built by the writer. */

export interface RunMessage {
  runId: string;
  mapping: string;
  mode: "delta" | "full";
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
  /** Dead letters of this record, removed once this write succeeds. */
  clearDeadLetters?: string[];
}

export interface WriteMessage {
  runId: string;
  mapping: string;
  direction: DirectionKey;
  /** Empty when the ops travel compressed in `opsGz`. */
  ops: WriteOp[];
  /** The ops as gzip-compressed JSON, base64: lets a message carry several times more records. */
  opsGz?: string;
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
  const plain: WriteMessage = { ...head, ops };
  const plainBytes = Buffer.byteLength(JSON.stringify(plain));
  if (plainBytes <= COMPRESS_ABOVE_BYTES) return plain;
  const packed: WriteMessage = { ...head, ops: [], opsGz: gzipSync(JSON.stringify(ops)).toString("base64") };
  const packedBytes = Buffer.byteLength(JSON.stringify(packed));
  if (packedBytes < plainBytes && packedBytes <= MAX_WRITE_MESSAGE_BYTES) return packed;
  return plainBytes <= MAX_WRITE_MESSAGE_BYTES ? plain : null;
}

/** The ops of a write message, plain or compressed (messages from before compression have only `ops`). */
export function writeOpsOf(msg: WriteMessage): WriteOp[] {
  if (!msg.opsGz) return msg.ops ?? [];
  return [...(msg.ops ?? []), ...(JSON.parse(gunzipSync(Buffer.from(msg.opsGz, "base64")).toString("utf8")) as WriteOp[])];
}
