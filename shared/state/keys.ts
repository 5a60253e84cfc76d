/**
 * Table keys. PartitionKey/RowKey forbid `/ \ # ?` and control characters, so every id that comes
 * from outside (app ids, Dataverse ids, mapping names) is escaped before it becomes a key.
 * encodeURIComponent leaves only `A-Z a-z 0-9 - _ . ! * ' ( )` plus `~` unescaped; we escape `~`
 * too, so an encoded key never contains `~` and partitions starting with `~` are ours alone
 * (pointer and index partitions). The output is ASCII, so Azure and the memory fake sort alike.
 */
export function encodeKey(value: string): string {
  return encodeURIComponent(value).replace(/~/g, "%7E");
}

export function decodeKey(key: string): string {
  return decodeURIComponent(key);
}

/** Every encoded key sorts below this, so `PartitionKey lt RESERVED` skips our own partitions. */
export const RESERVED_PREFIX = "~";

/** Largest epoch-ms value with 13 digits (year 2286); inverted timestamps stay fixed-width. */
const MAX_MS = 9_999_999_999_999;

/** A fixed-width key that sorts newest first. */
export function invertedTime(iso: string): string {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) throw new RangeError(`not a usable timestamp: ${iso}`);
  return String(MAX_MS - ms).padStart(13, "0");
}

/** RowKey of a run in the newest-first indexes: inverted start time, then the run id for ties. */
export function runIndexRowKey(startedAt: string, runId: string): string {
  return `${invertedTime(startedAt)}|${encodeKey(runId)}`;
}

export const LinkRowPrefix = { app: "a|", dataverse: "d|" } as const;

export function linkAppRowKey(appId: string): string {
  return LinkRowPrefix.app + encodeKey(appId);
}

export function linkDataverseRowKey(dataverseId: string): string {
  return LinkRowPrefix.dataverse + encodeKey(dataverseId);
}
