import { ErrorCodes, SyncError } from "../errors.js";
import { MAX_TEXT_CHARS } from "./jsonColumn.js";

/**
 * Out-of-band payloads (shared/ports.ts PayloadStore) are longer than one entity holds: a string
 * property takes at most 64 KiB and an entity 1 MiB, so a payload is split into parts of at most
 * MAX_TEXT_CHARS (one entity each, itself spread over string properties by writeChunked). Both
 * adapters split alike, so they fail alike.
 */
export const PART_CHARS = MAX_TEXT_CHARS;
/**
 * Room for a record at MAX_RECORD_JSON_BYTES (shared/sync/writeOps.ts) in both its values and its
 * base, with some to spare; the writer fails larger records before they get here.
 */
export const MAX_PAYLOAD_CHARS = 8 * PART_CHARS;

/** The text's parts, or a clear PAYLOAD_TOO_LARGE error naming the payload. */
export function splitPayload(id: string, text: string): string[] {
  if (text.length > MAX_PAYLOAD_CHARS) {
    throw new SyncError("validation", ErrorCodes.PayloadTooLarge,
      `out-of-band payload ${id} is ${text.length} characters; the state store keeps at most ${MAX_PAYLOAD_CHARS}`,
      { details: { what: `payload ${id}`, length: text.length, limit: MAX_PAYLOAD_CHARS } });
  }
  const parts: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + PART_CHARS, text.length);
    // Never cut a surrogate pair: each half alone is invalid UTF-16 and would not round-trip.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts.length ? parts : [""];
}

/** RowKey of part `index`: fixed width, so the parts sort in order. */
export function partKey(index: number): string {
  return String(index).padStart(4, "0");
}
