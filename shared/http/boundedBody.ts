import { ErrorCodes, SyncError } from "../errors.js";

/**
 * Reads a response body as text, refusing it once it passes `maxBytes`: a declared Content-Length
 * over the limit is refused before a byte is read, and a body without one (or lying about it) is
 * counted while it streams and cancelled at the limit, so a huge field never sits in memory whole.
 * Every read also ends when `signal` aborts (the body timeout), even if the stream ignores it.
 */
export async function readBoundedText(res: Response, maxBytes: number, signal: AbortSignal, target: string): Promise<string> {
  if (!res.body) {
    const declared = Number(res.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(target, maxBytes, declared);
    return "";
  }
  const reader = res.body.getReader();
  const chunks: AsyncIterator<Uint8Array> = { next: () => reader.read() as Promise<IteratorResult<Uint8Array>> };
  return readBoundedChunks(chunks, () => void reader.cancel().catch(() => undefined), Number(res.headers.get("content-length")), maxBytes, signal, target);
}

/**
 * readBoundedText over any stream of chunks (an undici body, a web stream's reader): `declared` is
 * the Content-Length (NaN when absent), `cancel` stops the stream when the body is refused or the
 * read fails.
 */
export async function readBoundedChunks(
  chunks: AsyncIterator<Uint8Array>, cancel: () => void, declared: number, maxBytes: number, signal: AbortSignal, target: string,
): Promise<string> {
  if (Number.isFinite(declared) && declared > maxBytes) {
    cancel();
    throw tooLarge(target, maxBytes, declared);
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await untilAborted(chunks.next(), signal);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge(target, maxBytes);
      parts.push(value);
    }
  } catch (e) {
    cancel();
    throw e;
  }
  return Buffer.concat(parts, size).toString("utf8");
}

function tooLarge(target: string, maxBytes: number, declared?: number): SyncError {
  const said = declared === undefined ? "" : ` (it declared ${declared} bytes)`;
  return new SyncError("permanent", ErrorCodes.ResponseTooLarge,
    `${target}: the response body is over the ${maxBytes}-byte limit${said} and was refused without reading the rest (options.http.maxResponseBytes)`,
    { details: { limit: maxBytes } });
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}
