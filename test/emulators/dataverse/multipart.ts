/**
 * The OData 4.0 multipart/mixed format of `$batch` (dataverse-web-api.md §3): parsing requests
 * and writing responses. Lines end in CRLF on the wire; bare LF is tolerated when parsing.
 */
import { randomUUID } from "node:crypto";
import type { EmuResponse } from "./types.js";

export interface BatchRequestPart {
  kind: "request";
  contentId?: string;
  method: string;
  /** The request target exactly as written: absolute, `/api/…`, relative or `$n…`. */
  target: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
}

export interface BatchChangeset {
  kind: "changeset";
  requests: BatchRequestPart[];
}

export type BatchItem = BatchRequestPart | BatchChangeset;

/** A structural problem with the batch as a whole (answered as a JSON error, not multipart). */
export class MalformedBatch extends Error {
  override name = "MalformedBatch";
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/mixed\b/i.test(contentType)) return undefined;
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

export function parseBatch(body: string, contentType: string | undefined): BatchItem[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new MalformedBatch("The batch request must have a Content-Type of multipart/mixed with a boundary.");
  return splitParts(body, boundary).map((part, index) => parseItem(part, index));
}

function parseItem(part: string, index: number): BatchItem {
  const { headers, rest } = splitHeaders(part);
  const changesetBoundary = boundaryOf(headers["content-type"]);
  if (changesetBoundary) {
    const requests = splitParts(rest, changesetBoundary).map((inner, i) => {
      const parsed = parseItem(inner, i);
      if (parsed.kind === "changeset") throw new MalformedBatch("A changeset cannot contain another changeset.");
      return parsed;
    });
    return { kind: "changeset", requests };
  }
  if (!/^\s*application\/http\b/i.test(headers["content-type"] ?? "")) {
    throw new MalformedBatch(`Part ${index + 1} of the batch must have Content-Type application/http or multipart/mixed.`);
  }
  return parseRequest(rest, headers["content-id"]);
}

function parseRequest(text: string, contentId: string | undefined): BatchRequestPart {
  const lines = text.replace(/^(?:\r?\n)+/, "");
  const eol = lines.search(/\r?\n|$/);
  const requestLine = lines.slice(0, eol).trim();
  const match = /^([A-Za-z]+)\s+(\S+)(?:\s+HTTP\/\d\.\d)?$/.exec(requestLine);
  if (!match) throw new MalformedBatch(`The batch part request line '${requestLine.slice(0, 200)}' is not valid.`);
  const { headers, rest } = splitHeaders(lines.slice(eol).replace(/^\r?\n/, ""));
  return {
    kind: "request",
    contentId: contentId?.trim() || undefined,
    method: match[1].toUpperCase(),
    target: match[2],
    headers,
    body: rest.replace(/(?:\r?\n)+$/, ""),
  };
}

/** Headers up to the first empty line (lower-cased names), and what follows it. */
function splitHeaders(text: string): { headers: Record<string, string>; rest: string } {
  const headers: Record<string, string> = {};
  let position = 0;
  while (position < text.length) {
    const next = text.indexOf("\n", position);
    const end = next < 0 ? text.length : next;
    const line = text.slice(position, end).replace(/\r$/, "");
    position = next < 0 ? text.length : next + 1;
    if (line === "") break;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new MalformedBatch(`The batch part header '${line.slice(0, 200)}' is not valid.`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, rest: text.slice(position) };
}

/** The parts between `--boundary` delimiter lines, up to the closing `--boundary--`. */
function splitParts(body: string, boundary: string): string[] {
  const lines = body.split("\n");
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const raw of lines) {
    const line = raw.replace(/\r$/, "");
    if (line.trimEnd() === `--${boundary}--`) {
      if (current) parts.push(current.join("\n"));
      return parts;
    }
    if (line.trimEnd() === `--${boundary}`) {
      if (current) parts.push(current.join("\n"));
      current = [];
      continue;
    }
    current?.push(line); // text before the first delimiter is preamble and ignored
  }
  throw new MalformedBatch(`The batch is missing the closing boundary '--${boundary}--'.`);
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
  401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
  412: "Precondition Failed", 413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
  501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
};

export interface ResponsePart {
  contentId?: string;
  response: EmuResponse;
}

export type ResponseItem = { kind: "response"; part: ResponsePart } | { kind: "changeset"; parts: ResponsePart[] };

/** Writes a batch response body; returns it with its boundary (`batchresponse_<guid>`). */
export function writeBatchResponse(items: ResponseItem[]): { boundary: string; body: string } {
  const boundary = `batchresponse_${randomUUID()}`;
  let body = "";
  for (const item of items) {
    body += `--${boundary}\r\n`;
    if (item.kind === "response") {
      body += writeHttpPart(item.part);
      continue;
    }
    const changeset = `changesetresponse_${randomUUID()}`;
    body += `Content-Type: multipart/mixed; boundary=${changeset}\r\n\r\n`;
    for (const part of item.parts) body += `--${changeset}\r\n${writeHttpPart(part)}`;
    body += `--${changeset}--\r\n`;
  }
  body += `--${boundary}--\r\n`;
  return { boundary, body };
}

function writeHttpPart({ contentId, response }: ResponsePart): string {
  let text = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n";
  if (contentId !== undefined) text += `Content-ID: ${contentId}\r\n`;
  text += `\r\nHTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? "Unknown"}\r\n`;
  for (const [name, value] of Object.entries(response.headers)) text += `${name}: ${value}\r\n`;
  text += `\r\n${response.body ?? ""}\r\n`;
  return text;
}
