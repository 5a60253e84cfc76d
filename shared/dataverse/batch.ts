/**
 * Our own OData 4.0 multipart `$batch` encoder and decoder (CRLF line ends, optional changesets
 * with Content-ID, nested `changesetresponse` parts, and the single-part failed-changeset shape).
 */
import { randomUUID } from "node:crypto";
import { ErrorCodes, SyncError } from "../errors.js";

export interface BatchRequest {
  method: string;
  /** Relative to the service root (`contacts(…)`), server-relative, absolute, or a `$n` Content-ID reference. */
  url: string;
  headers?: Record<string, string>;
  body?: string;
  contentId?: string;
}

/** An atomic group: all parts succeed or all are rolled back. */
export interface BatchChangeset {
  changeset: BatchRequest[];
}

export type BatchItem = BatchRequest | BatchChangeset;

export interface BatchResponsePart {
  status: number;
  statusText: string;
  headers: Headers;
  text: string;
  contentId?: string;
  /** Set for parts that came back inside a changesetresponse. */
  inChangeset?: boolean;
}

const CRLF = "\r\n";

export function encodeBatch(items: BatchItem[], options: { serviceRoot: string; boundary?: string }): { contentType: string; body: string } {
  const boundary = options.boundary ?? `batch_${randomUUID()}`;
  let out = "";
  for (const item of items) {
    out += `--${boundary}${CRLF}`;
    if ("changeset" in item) {
      const cs = `changeset_${randomUUID()}`;
      out += `Content-Type: multipart/mixed; boundary=${cs}${CRLF}${CRLF}`;
      for (const req of item.changeset) out += `--${cs}${CRLF}${encodePart(req, options.serviceRoot)}`;
      out += `--${cs}--${CRLF}`;
    } else {
      out += encodePart(item, options.serviceRoot);
    }
  }
  out += `--${boundary}--${CRLF}`;
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: out };
}

function encodePart(req: BatchRequest, serviceRoot: string): string {
  let out = `Content-Type: application/http${CRLF}Content-Transfer-Encoding: binary${CRLF}`;
  if (req.contentId !== undefined) out += `Content-ID: ${req.contentId}${CRLF}`;
  out += CRLF;
  out += `${req.method.toUpperCase()} ${absolute(req.url, serviceRoot)} HTTP/1.1${CRLF}`;
  const headers = { ...(req.body !== undefined ? { "Content-Type": "application/json; type=entry" } : {}), ...req.headers };
  for (const [k, v] of Object.entries(headers)) out += `${k}: ${v}${CRLF}`;
  out += CRLF;
  if (req.body !== undefined) out += req.body;
  return out + CRLF;
}

function absolute(url: string, serviceRoot: string): string {
  // Absolute, server-relative (`/api/data/v9.2/…`) and `$n` forms are all valid inside a batch.
  if (/^https?:\/\//i.test(url) || url.startsWith("$") || url.startsWith("/")) return url;
  return serviceRoot.replace(/\/?$/, "/") + url;
}

/** The boundary parameter of a multipart Content-Type, or undefined when it is not multipart. */
export function multipartBoundary(contentType: string | null | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\//i.test(contentType)) return undefined;
  const m = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** Response parts in order, changesets flattened (each inner part marked `inChangeset`). */
export function decodeBatch(contentType: string | null, body: string): BatchResponsePart[] {
  const boundary = multipartBoundary(contentType);
  if (!boundary) throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: expected a multipart $batch response, got ${contentType ?? "no content type"}`);
  return decodeParts(body, boundary, false);
}

function decodeParts(body: string, boundary: string, inChangeset: boolean): BatchResponsePart[] {
  const parts: BatchResponsePart[] = [];
  for (const raw of splitMultipart(body, boundary)) {
    const { headers: mime, rest } = splitHeaders(raw);
    const nested = multipartBoundary(mime.get("content-type"));
    if (nested) {
      parts.push(...decodeParts(rest, nested, true));
      continue;
    }
    parts.push({ ...parseHttpResponse(rest), contentId: mime.get("content-id") ?? undefined, ...(inChangeset ? { inChangeset } : {}) });
  }
  return parts;
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of body.split(/\r?\n/)) {
    const trimmed = line.trimEnd();
    if (trimmed === delimiter || trimmed === `${delimiter}--`) {
      if (current) parts.push(current.join(CRLF));
      current = trimmed === delimiter ? [] : undefined;
      if (!current) break;
      continue;
    }
    current?.push(line);
  }
  return parts;
}

/** `leadingBlanks`: MIME part headers may follow blank lines; an HTTP response's follow its status line at once. */
function splitHeaders(text: string, leadingBlanks = true): { headers: Headers; rest: string } {
  const lines = text.split(CRLF);
  while (leadingBlanks && lines.length > 0 && lines[0] === "") lines.shift();
  const headers = new Headers();
  let i = 0;
  for (; i < lines.length && lines[i] !== ""; i++) {
    const colon = lines[i].indexOf(":");
    if (colon <= 0) continue;
    try {
      headers.append(lines[i].slice(0, colon).trim(), lines[i].slice(colon + 1).trim());
    } catch {
      throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: malformed header line in a $batch response part: ${JSON.stringify(lines[i].slice(0, 80))}`);
    }
  }
  return { headers, rest: lines.slice(i + 1).join(CRLF) };
}

function parseHttpResponse(text: string): Omit<BatchResponsePart, "contentId"> {
  const lines = text.split(CRLF);
  while (lines.length > 0 && lines[0] === "") lines.shift();
  const statusLine = /^HTTP\/\d\.\d\s+(\d{3})\s*(.*)$/.exec(lines[0] ?? "");
  if (!statusLine) throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: malformed $batch response part: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  const { headers, rest } = splitHeaders(lines.slice(1).join(CRLF), false);
  return { status: Number(statusLine[1]), statusText: statusLine[2].trim(), headers, text: rest.replace(/(\r\n)+$/, "") };
}
