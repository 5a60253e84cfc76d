/** Test-side helpers to build `$batch` request bodies and read batch responses (independent of multipart.ts). */

export interface WireOp {
  method: string;
  url: string;
  body?: unknown;
  contentId?: string;
  headers?: Record<string, string>;
}

export function batchBody(boundary: string, items: Array<WireOp | WireOp[]>, eol = "\r\n"): string {
  let text = "";
  items.forEach((item, i) => {
    text += `--${boundary}${eol}`;
    if (!Array.isArray(item)) {
      text += part(item, eol);
      return;
    }
    const changeset = `changeset_${i}`;
    text += `Content-Type: multipart/mixed; boundary="${changeset}"${eol}${eol}`;
    for (const op of item) text += `--${changeset}${eol}${part(op, eol)}`;
    text += `--${changeset}--${eol}`;
  });
  return `${text}--${boundary}--${eol}`;
}

function part(op: WireOp, eol: string): string {
  let text = `Content-Type: application/http${eol}Content-Transfer-Encoding: binary${eol}`;
  if (op.contentId) text += `Content-ID: ${op.contentId}${eol}`;
  text += `${eol}${op.method} ${op.url} HTTP/1.1${eol}`;
  for (const [k, v] of Object.entries(op.headers ?? {})) text += `${k}: ${v}${eol}`;
  if (op.body !== undefined) text += `Content-Type: application/json${eol}${eol}${JSON.stringify(op.body)}${eol}`;
  else text += eol;
  return text;
}

export interface WireResponse {
  status: number;
  contentId?: string;
  headers: Record<string, string>;
  body: string;
}

/** Top-level items of a batch response; a changeset response becomes an array. */
export function readBatchResponse(contentType: string, body: string): Array<WireResponse | WireResponse[]> {
  const boundary = /boundary=([^;\s]+)/.exec(contentType)![1];
  return split(body, boundary).map((raw) => {
    const nested = /^Content-Type: multipart\/mixed; boundary=(\S+)\r\n\r\n/.exec(raw);
    if (nested) return split(raw.slice(nested[0].length), nested[1]).map(readPart);
    return readPart(raw);
  });
}

function split(body: string, boundary: string): string[] {
  const pieces = body.split(`--${boundary}`);
  return pieces.slice(1, -1).map((p) => p.replace(/^\r\n/, ""));
}

function readPart(raw: string): WireResponse {
  const [outer, ...rest] = raw.split("\r\n\r\n");
  const contentId = /Content-ID: (\S+)/.exec(outer)?.[1];
  const http = rest.join("\r\n\r\n");
  const [head, ...bodyParts] = http.split("\r\n\r\n");
  const [statusLine, ...headerLines] = head.split("\r\n");
  const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
  return { status: Number(statusLine.split(" ")[1]), contentId, headers, body: bodyParts.join("\r\n\r\n").replace(/\r\n$/, "") };
}
