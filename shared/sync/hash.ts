/**
 * Equality and hashing of canonical values (see values.ts). Both treat a null value and a missing
 * key the same, so adding a mapped field whose value is null does not change existing hashes, and
 * `{ a: null }` equals `{}` — consistent with each other by construction.
 */
import { hash } from "node:crypto";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Deep equality of JSON values. Arrays compare in order (the canonical form already sorts what has
 * no order, such as multichoice); object key order does not matter; null equals undefined.
 */
export function canonicalEquals(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => canonicalEquals(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!canonicalEquals(a[key], b[key])) return false;
    return true;
  }
  return false;
}

/** JSON with sorted keys and null/undefined object entries left out. */
export function stableStringify(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (isPlainObject(value)) {
    const entries = Object.keys(value)
      .filter((key) => value[key] !== null && value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableStringify(value[key])}`);
    return `{${entries.join(",")}}`;
  }
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new TypeError(`cannot hash the non-finite number ${value}`);
  }
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return JSON.stringify(value);
  throw new TypeError(`cannot hash a value of type ${typeof value}: canonical values are plain JSON`);
}

/** Stable sha256 (hex) of a record's canonical values. */
export function hashCanonical(values: Record<string, unknown>): string {
  return hash("sha256", stableStringify(values), "hex");
}

/**
 * The first 32 bits of `hashCanonical(values)` as a number, as echo checks and reconciliation keep
 * it (decide.ts hash32), without the hex string: these run once per row of a million-row delta.
 */
export function hash32Canonical(values: Record<string, unknown>): number {
  return hash("sha256", stableStringify(values), "buffer").readUInt32BE(0);
}

/** The first 64 bits of `hashCanonical(values)`, as two 32-bit numbers (HeldLinks compares a record with its link by them). */
export function hash64Canonical(values: Record<string, unknown>): [number, number] {
  const digest = hash("sha256", stableStringify(values), "buffer");
  return [digest.readUInt32BE(0), digest.readUInt32BE(4)];
}

/** FNV-1a over a string's UTF-16 code units: stable across processes and versions. */
export function fnv1a(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
