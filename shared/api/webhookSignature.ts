import { createHmac } from "node:crypto";
import { secretMatches } from "./apiTypes.js";

/** HMAC-SHA256 of `payload` with `secret`, as lowercase hex. */
export function hmacHex(secret: string, payload: string): string {
  return createHmac("sha256", secret).update(payload, "utf8").digest("hex");
}

/**
 * Normalises a presented SHA-256 signature to lowercase hex: `sha256=` prefix optional, the digest
 * in hex or base64 (standard or URL-safe). Anything that is not a 32-byte digest gives undefined.
 */
export function signatureHex(presented: string | null): string | undefined {
  if (!presented) return undefined;
  const value = presented.trim().replace(/^sha256=/i, "");
  if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return undefined;
  const bytes = Buffer.from(value.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return bytes.length === 32 ? bytes.toString("hex") : undefined;
}

/** Constant-time check of a presented signature against the HMAC of `payload`. */
export function signatureMatches(presented: string | null, secret: string | undefined, payload: string): boolean {
  if (!secret) return false;
  return secretMatches(signatureHex(presented) ?? "", hmacHex(secret, payload));
}
