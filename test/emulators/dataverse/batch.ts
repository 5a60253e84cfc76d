/**
 * `POST $batch` (dataverse-web-api.md §3): runs the parts in order through the core router,
 * changesets all-or-nothing through `ctx.transaction`, and writes the multipart response.
 */
import { randomUUID } from "node:crypto";
import { parseJson } from "../../../shared/http/exactJson.js";
import { DataverseFault, faultResponse, type EmuRequest, type EmuResponse, type EmulatorContext } from "./types.js";
import {
  MalformedBatch,
  parseBatch,
  writeBatchResponse,
  type BatchItem,
  type BatchRequestPart,
  type ResponseItem,
  type ResponsePart,
} from "./multipart.js";

export const MAX_BATCH_OPERATIONS = 1000;

/** Outer headers that describe the batch itself and must not leak into its inner requests. */
const OUTER_ONLY = new Set(["content-type", "content-length", "transfer-encoding", "prefer"]);
/** `$`-segments that start a URL legitimately and are not Content-ID references. */
const SYSTEM_SEGMENTS = new Set(["metadata", "batch", "entity", "crossjoin", "all"]);

class ChangesetFailed extends Error {
  constructor(readonly part: ResponsePart) {
    super("changeset failed");
  }
}

/** Operations in a batch body (what service protection charges for); 0 when it cannot be parsed. */
export function countBatchOperations(req: Pick<EmuRequest, "body" | "headers">): number {
  try {
    return countOperations(parseBatch(req.body, req.headers["content-type"]));
  } catch {
    return 0;
  }
}

export async function handleBatch(req: EmuRequest, ctx: EmulatorContext): Promise<EmuResponse> {
  let items: BatchItem[];
  try {
    items = parseBatch(req.body, req.headers["content-type"]);
    validate(items);
  } catch (error) {
    if (error instanceof MalformedBatch) return jsonError(400, error.message);
    throw error;
  }
  const continueOnError = /\bodata\.continue-on-error\b/i.test(req.headers["prefer"] ?? "");
  const results: ResponseItem[] = [];
  for (const item of items) {
    const result = item.kind === "request"
      ? { kind: "response" as const, part: await runPart(item, req, ctx, new Map()) }
      : await runChangeset(item.requests, req, ctx);
    const failed = result.kind === "response" && result.part.response.status >= 400;
    if (failed && !continueOnError) {
      // Default: stop at the first failure; the batch takes its status and carries only that part.
      return multipart(result.part.response.status, [result], {});
    }
    results.push(result);
  }
  return multipart(200, results, continueOnError ? { "preference-applied": "odata.continue-on-error" } : {});
}

function validate(items: BatchItem[]): void {
  const count = countOperations(items);
  if (count > MAX_BATCH_OPERATIONS) {
    throw new MalformedBatch(`The number of operations in the batch (${count}) exceeds the maximum of ${MAX_BATCH_OPERATIONS}.`);
  }
  for (const item of items) {
    const requests = item.kind === "request" ? [item] : item.requests;
    for (const request of requests) {
      if (/(^|\/)\$batch(\?|$)/.test(request.target)) throw new MalformedBatch("A batch cannot contain another batch.");
    }
    if (item.kind === "changeset" && item.requests.some((r) => r.method === "GET")) {
      throw new MalformedBatch("A GET request is not allowed inside a changeset.");
    }
  }
}

function countOperations(items: BatchItem[]): number {
  return items.reduce((sum, item) => sum + (item.kind === "request" ? 1 : item.requests.length), 0);
}

async function runChangeset(requests: BatchRequestPart[], outer: EmuRequest, ctx: EmulatorContext): Promise<ResponseItem> {
  const entityUrls = new Map<string, string>();
  try {
    const parts = await ctx.transaction(async () => {
      const done: ResponsePart[] = [];
      for (const request of requests) {
        const part = await runPart(request, outer, ctx, entityUrls);
        if (part.response.status >= 400) throw new ChangesetFailed(part);
        done.push(part);
      }
      return done;
    });
    return { kind: "changeset", parts };
  } catch (error) {
    // OData 4.0 §11.7.4: a failed changeset is answered by ONE response for the whole changeset.
    if (error instanceof ChangesetFailed) return { kind: "response", part: error.part };
    return { kind: "response", part: { response: errorResponse(error) } };
  }
}

async function runPart(
  request: BatchRequestPart,
  outer: EmuRequest,
  ctx: EmulatorContext,
  entityUrls: Map<string, string>,
): Promise<ResponsePart> {
  const contentId = request.contentId;
  let response: EmuResponse;
  try {
    const inner: EmuRequest = {
      method: request.method,
      url: resolveUrl(substituteTarget(request.target, entityUrls), ctx),
      headers: { ...outerHeaders(outer.headers), ...request.headers },
      body: substituteBody(request.body, entityUrls),
      userId: outer.userId,
      inBatch: true,
    };
    response = await ctx.dispatch(inner);
  } catch (error) {
    response = errorResponse(error);
  }
  if (response.status >= 400) response = { ...response, headers: { ...response.headers, REQ_ID: randomUUID() } };
  else if (contentId !== undefined) {
    const url = entityUrlOf(response);
    if (url) entityUrls.set(contentId, url);
  }
  return { contentId, response };
}

function outerHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !OUTER_ONLY.has(name.toLowerCase())));
}

function substituteTarget(target: string, entityUrls: Map<string, string>): string {
  const match = /^\$([^/?(]+)(.*)$/s.exec(target);
  if (!match || SYSTEM_SEGMENTS.has(match[1])) return target;
  return referenced(match[1], entityUrls) + match[2];
}

/** `$n` in `@odata.bind` / `@odata.id` values becomes the URL of the record that part n wrote. */
function substituteBody(body: string, entityUrls: Map<string, string>): string {
  if (!body.includes("$") || !/^\s*[{[]/.test(body)) return body;
  let parsed: unknown;
  try {
    parsed = parseJson(body);
  } catch {
    return body; // the core reports invalid JSON in its own words
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return body;
  let changed = false;
  const swap = (value: unknown): unknown => {
    if (typeof value !== "string" || !/^\$[^/?(]+$/.test(value) || SYSTEM_SEGMENTS.has(value.slice(1))) return value;
    changed = true;
    return referenced(value.slice(1), entityUrls);
  };
  const record = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (!key.endsWith("@odata.bind") && key !== "@odata.id") continue;
    record[key] = Array.isArray(value) ? value.map(swap) : swap(value);
  }
  return changed ? JSON.stringify(record) : body;
}

function referenced(contentId: string, entityUrls: Map<string, string>): string {
  const url = entityUrls.get(contentId);
  if (url === undefined) throw new DataverseFault(400, "0x0", `Content-ID Reference: '$${contentId}' does not exist in the batch context.`);
  return url;
}

function resolveUrl(target: string, ctx: EmulatorContext): URL {
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(target);
  // Absolute inner URLs name the environment the client knows; serve them here whatever the host.
  const url = absolute ? new URL(target) : new URL(target, target.startsWith("/") ? ctx.origin : ctx.serviceRoot);
  return new URL(url.pathname + url.search, ctx.origin);
}

function entityUrlOf(response: EmuResponse): string | undefined {
  const header = (name: string) => Object.entries(response.headers).find(([k]) => k.toLowerCase() === name)?.[1];
  const fromHeader = header("odata-entityid") ?? header("location");
  if (fromHeader) return fromHeader;
  try {
    const body = JSON.parse(response.body ?? "") as Record<string, unknown>;
    return typeof body["@odata.id"] === "string" ? body["@odata.id"] : undefined;
  } catch {
    return undefined;
  }
}

function errorResponse(error: unknown): EmuResponse {
  if (error instanceof DataverseFault) return faultResponse(error);
  return jsonError(500, error instanceof Error ? error.message : String(error));
}

function jsonError(status: number, message: string): EmuResponse {
  return faultResponse(new DataverseFault(status, "0x0", message));
}

function multipart(status: number, items: ResponseItem[], extra: Record<string, string>): EmuResponse {
  const { boundary, body } = writeBatchResponse(items);
  return {
    status,
    headers: { "content-type": `multipart/mixed; boundary=${boundary}`, "odata-version": "4.0", ...extra },
    body,
  };
}

