import type { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { request, type Dispatcher } from "undici";
import { readBoundedChunks, readBoundedText } from "./boundedBody.js";
import { connectDispatcher } from "./connectDispatcher.js";

/** What one network exchange answers before its body is read: HttpClient times the two apart. */
export interface ExchangeHead {
  status: number;
  headers: Headers;
  /** The body as text, refused past `maxBytes`, ending when `signal` aborts. */
  text(maxBytes: number, signal: AbortSignal, target: string): Promise<string>;
}

export interface ExchangeRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal: AbortSignal;
  connectTimeoutMs: number;
}

/** One request on the wire, up to its response headers. */
export type Exchange = (req: ExchangeRequest) => Promise<ExchangeHead>;

/** What fetch asks for; the answer is decoded before its size is counted (a small zip bomb stays bounded). */
const ACCEPT_ENCODING = "gzip, deflate, br";

/** fetch follows up to 20 redirects; the undici exchange does the same. */
const MAX_REDIRECTIONS = 20;

/**
 * The default exchange: undici's `request`, on the pooled agent that bounds connecting. It is the
 * same HTTP client as the built-in fetch without the WHATWG layer (Request, Response, web streams),
 * which cost about three times the CPU per call and most of a sync worker's garbage
 * (docs/benchmark.md, "Dataverse → app"). Redirects are followed as fetch follows them, up to 20;
 * one more fails as a redirect loop.
 */
export const undiciExchange: Exchange = async (req) => {
  const res = await request(req.url, {
    method: req.method as Dispatcher.HttpMethod,
    headers: { "accept-encoding": ACCEPT_ENCODING, ...req.headers },
    body: req.body,
    signal: req.signal,
    dispatcher: connectDispatcher(req.connectTimeoutMs),
    maxRedirections: MAX_REDIRECTIONS,
    throwOnMaxRedirect: true,
  } as Parameters<typeof request>[1]);
  const body = decoded(res.body as unknown as Readable, res.headers["content-encoding"]);
  return {
    status: res.statusCode,
    headers: toHeaders(res.headers),
    text: (maxBytes, signal, target) => readBoundedChunks(body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>, () => discard(body), declaredLength(res.headers), maxBytes, signal, target),
  };
};

/** An injected fetch (tests, a tenant's tagging wrapper) as an exchange. */
export function fetchExchange(fetchImpl: typeof fetch): Exchange {
  return async (req) => {
    const res = await fetchImpl(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: req.signal,
      dispatcher: connectDispatcher(req.connectTimeoutMs),
    } as RequestInit);
    return { status: res.status, headers: res.headers, text: (maxBytes, signal, target) => readBoundedText(res, maxBytes, signal, target) };
  };
}

/** The body as sent, through the decoder its Content-Encoding names (fetch decodes the same three). */
function decoded(body: Readable, encoding: string | string[] | undefined): Readable {
  const name = (Array.isArray(encoding) ? encoding.join(",") : encoding ?? "").trim().toLowerCase();
  const decoder = name === "gzip" || name === "x-gzip" ? createGunzip() : name === "deflate" ? createInflate() : name === "br" ? createBrotliDecompress() : undefined;
  if (!decoder) return body;
  body.on("error", (e) => decoder.destroy(e));
  decoder.on("close", () => body.destroy());
  return body.pipe(decoder);
}

/** Stops a body that is refused or failed; undici reports the stop as an error, which is expected here. */
function discard(body: Readable): void {
  body.on("error", () => undefined);
  body.destroy();
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  return headers;
}

function declaredLength(raw: Record<string, string | string[] | undefined>): number {
  const value = raw["content-length"];
  return Number(Array.isArray(value) ? value[0] : value);
}
