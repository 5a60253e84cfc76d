/**
 * The package API's blob storage, served by the emulator itself: `PUT`/`GET`
 * `<origin>/blobs/<container>/<name>?sv=…&sr=b&sp=…&se=…&sig=…`. Like Azure Storage, a request
 * carries no Authorization header; the SAS decides: its signature (HMAC-SHA256 over the permissions,
 * expiry and path with a key only the emulator knows), its expiry and its permissions. Refusals are
 * Azure's: 403 `AuthenticationFailed` / `AuthorizationPermissionMismatch` as XML.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Readable } from "node:stream";
import type { FoResponse } from "./types.js";

type BlobContent = { data: Buffer } | { generate: () => Readable; contentType: string };

export const BLOB_PATH = "/blobs/";
const SAS_VERSION = "2022-11-02";

export class BlobStore {
  private readonly key = randomBytes(32);
  private readonly blobs = new Map<string, BlobContent>();

  constructor(private readonly origin: string, private readonly now: () => number, private readonly lifetimeMs: number) {}

  /** A SAS URL for `container/name` with the given permissions (`r`, `w` or `rw`). */
  sasUrl(container: string, name: string, permissions: "r" | "w" | "rw"): string {
    const path = `${BLOB_PATH}${container}/${encodeURIComponent(name)}`;
    const se = new Date(this.now() + this.lifetimeMs).toISOString().replace(/\.\d{3}Z$/, "Z");
    const q = new URLSearchParams({ sv: SAS_VERSION, sr: "b", sp: permissions, se, sig: this.sign(permissions, se, path) });
    return `${this.origin}${path}?${q}`;
  }

  /** Stores generated content (exports, error keys) that is produced on each GET. */
  putGenerated(container: string, name: string, generate: () => Readable, contentType: string): void {
    this.blobs.set(`${container}/${name}`, { generate, contentType });
  }

  /** The bytes of an uploaded blob, by its URL (what ImportFromPackage's packageUrl names). */
  bytesAt(url: string): Buffer | undefined {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return undefined;
    }
    if (!parsed.pathname.startsWith(BLOB_PATH)) return undefined;
    const blob = this.blobs.get(decodeURIComponent(parsed.pathname.slice(BLOB_PATH.length)));
    return blob && "data" in blob ? blob.data : undefined;
  }

  /** Serves one blob request (the path starts with BLOB_PATH). */
  handle(method: string, url: URL, headers: Record<string, string>, body: Buffer): FoResponse {
    const refusal = this.check(method, url);
    if (refusal) return refusal;
    const id = decodeURIComponent(url.pathname.slice(BLOB_PATH.length));
    if (method === "PUT") {
      if (!headers["x-ms-blob-type"]) return storageError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.");
      if (headers["x-ms-blob-type"] !== "BlockBlob") return storageError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format: x-ms-blob-type.");
      this.blobs.set(id, { data: body });
      return { status: 201, headers: { etag: `"0x${Date.now().toString(16).toUpperCase()}"`, "x-ms-request-server-encrypted": "true" } };
    }
    const blob = this.blobs.get(id);
    if (!blob) return storageError(404, "BlobNotFound", "The specified blob does not exist.");
    if ("data" in blob) return { status: 200, headers: { "content-type": "application/octet-stream", "content-length": String(blob.data.length) }, body: blob.data };
    return { status: 200, headers: { "content-type": blob.contentType }, body: blob.generate() };
  }

  private check(method: string, url: URL): FoResponse | undefined {
    if (method !== "GET" && method !== "PUT" && method !== "HEAD") return storageError(405, "UnsupportedHttpVerb", `The resource doesn't support the specified HTTP verb ${method}.`);
    const q = url.searchParams;
    const sp = q.get("sp") ?? "";
    const se = q.get("se") ?? "";
    const sig = q.get("sig") ?? "";
    if (!sp || !se || !sig) return storageError(403, "AuthenticationFailed", "Server failed to authenticate the request: the URL has no complete SAS (sp, se and sig are required).");
    const expected = Buffer.from(this.sign(sp, se, url.pathname));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      return storageError(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature. Signature did not match.");
    }
    const expiry = Date.parse(se);
    if (!(expiry > this.now())) {
      return storageError(403, "AuthenticationFailed", `Server failed to authenticate the request. Signed expiry time [${new Date(expiry).toUTCString()}] must be after signed start time [${new Date(this.now()).toUTCString()}].`);
    }
    const needed = method === "PUT" ? "w" : "r";
    if (!sp.includes(needed)) return storageError(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.");
    return undefined;
  }

  private sign(permissions: string, expiry: string, path: string): string {
    return createHmac("sha256", this.key).update(`${permissions}\n${expiry}\n${path}\n${SAS_VERSION}`).digest("base64");
  }
}

function storageError(status: number, code: string, message: string): FoResponse {
  const body = `\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nTime:${new Date().toISOString()}</Message></Error>`;
  return { status, headers: { "content-type": "application/xml", "x-ms-error-code": code }, body };
}
