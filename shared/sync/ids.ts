import { createHash } from "node:crypto";

/**
 * A GUID derived from its inputs (name-based, like UUID v5 over SHA-1). Rows we create in Dataverse
 * get a deterministic primary id, so a create retried after a lost response hits the same row
 * instead of creating a duplicate.
 */
export function deterministicGuid(...parts: string[]): string {
  const h = createHash("sha1").update(parts.join("\u0000")).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
