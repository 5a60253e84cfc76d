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
  /** Dead letters of this record, removed once this write succeeds. */
  clearDeadLetters?: string[];
}

export interface WriteMessage {
  runId: string;
  mapping: string;
  direction: DirectionKey;
  ops: WriteOp[];
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
