import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ErrorCodes, SyncError } from "../errors.js";
import type { RetryInfo } from "../http/httpClient.js";
import { boundsWith, type HttpBounds } from "../http/httpBounds.js";
import { readBoundedText } from "../http/boundedBody.js";
import { defaultRetryPolicy, retryDelay, type RetryPolicy } from "../http/retryPolicy.js";
import { safeUrl, toTransportError } from "../http/transportError.js";
import type { Clock } from "../ports.js";
import { classifyFinopsError } from "./classifyFinopsError.js";

export interface Download {
  file: string;
  bytes: number;
  /** sha256 of the content, hex: the same file delivered twice has the same digest. */
  sha256: string;
}

export interface DownloadOptions {
  url: string;
  file: string;
  clock: Clock;
  fetch?: typeof fetch;
  bounds?: Partial<HttpBounds>;
  policy?: RetryPolicy;
  /** A bearer token for the request (F&O's download endpoint); none for SAS URLs. */
  token?: () => Promise<string>;
  onAttempt?: () => void;
  onRetry?: (info: RetryInfo) => void;
}

/** Files larger than this are refused while they stream (an export is many MB; this is a runaway guard). */
export const MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;

/**
 * A GET streamed to a file: the body never sits in memory whole, so a 100,000-row export costs a
 * file, not RAM. Retried like every call (HttpClient's rules: transient and 429, Retry-After as a
 * floor through the Clock, a bounded number of attempts, each attempt's body bounded in time).
 */
export async function downloadToFile(o: DownloadOptions): Promise<Download> {
  const fetchImpl = o.fetch ?? globalThis.fetch;
  const policy = o.policy ?? defaultRetryPolicy;
  const bounds = boundsWith(o.bounds);
  const endpoint = safeUrl(o.url);
  for (let attempt = 1; ; attempt++) {
    o.onAttempt?.();
    let error: SyncError;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("timeout")), bounds.firstByteTimeoutMs + bounds.bodyTimeoutMs);
    try {
      const headers: Record<string, string> = o.token ? { authorization: `Bearer ${await o.token()}` } : {};
      const res = await fetchImpl(o.url, { method: "GET", headers, signal: controller.signal });
      if (res.status === 200 && res.body) {
        return await save(res.body as unknown as WebReadableStream<Uint8Array>, o.file);
      }
      const text = await readBoundedText(res, 64 * 1024, controller.signal, `GET ${endpoint}`).catch(() => "");
      error = res.status === 200 || res.status === 204
        ? new SyncError("permanent", ErrorCodes.FinopsUnexpectedFile, `GET ${endpoint} answered ${res.status} without a file`)
        : classifyFinopsError({ status: res.status, headers: res.headers, text }, { method: "GET", url: o.url }, o.clock.now());
    } catch (e) {
      await rm(o.file, { force: true });
      error = e instanceof SyncError ? e : toTransportError(controller.signal.aborted ? Object.assign(new Error("timeout"), { name: "TimeoutError" }) : e, { method: "GET", url: o.url, endpoint });
    } finally {
      clearTimeout(timer);
    }
    const delayMs = retryDelay(policy, attempt, error);
    if (delayMs === null || (error.retryAfterMs ?? 0) > bounds.maxRetryAfterMs) throw error;
    o.onRetry?.({ attempt, delayMs, error, req: { method: "GET", url: o.url } });
    await o.clock.sleep(delayMs);
  }
}

async function save(body: WebReadableStream<Uint8Array>, file: string): Promise<Download> {
  const hash = createHash("sha256");
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > MAX_DOWNLOAD_BYTES) return done(new SyncError("permanent", ErrorCodes.ResponseTooLarge, `the download is over ${MAX_DOWNLOAD_BYTES} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(body), count, createWriteStream(file));
  return { file, bytes, sha256: hash.digest("hex") };
}
