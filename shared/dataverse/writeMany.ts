import { ErrorCodes, SyncError, isSyncError } from "../errors.js";
import type { BulkResult, BulkWrite } from "../ports.js";
import { decodeBatch, encodeBatch, type BatchRequest } from "./batch.js";
import type { BulkSizer } from "./bulkSizer.js";
import { classifyDataverseError } from "./classifyDataverseError.js";
import type { DataverseTransport } from "./dataverseTransport.js";
import { checkGuid, checkName, idFromEntityUrl, idPath, keyPath } from "./odataUrl.js";

export interface WriteManyOptions {
  /** Primary id column (default `<table>id`; activities use `activityid`). */
  primaryId?: string;
}

interface Item {
  index: number;
  write: BulkWrite;
}

/**
 * `recreate`: creates whose first attempt may have run on the server (its answer was lost to a
 * timeout or a broken connection), resent as upserts by their own primary id. Resent as creates,
 * the records the lost attempt made would fail as duplicates (the whole all-or-nothing chunk, then
 * each record in the `$batch` fallback), and each would cost a read to find out it was ours.
 */
type BulkKind = "create" | "update" | "upsert" | "recreate";
const bulkMessages = { create: "CreateMultiple", update: "UpdateMultiple", upsert: "UpsertMultiple", recreate: "UpsertMultiple" } as const;

interface Context {
  t: DataverseTransport;
  sizer: BulkSizer;
  entitySet: string;
  table: string;
  primaryId: string;
  results: BulkResult[];
  bulkTimeoutMs: number;
}

/**
 * Bulk messages per kind, `$batch` with continue-on-error as the per-record fallback and for deletes.
 *
 * Row-version writes: an update or delete that carries `ifMatch` (the `@odata.etag` its decision was
 * based on) goes out as a part of a continue-on-error `$batch` with `If-Match: W/"<version>"`, never
 * as UpdateMultiple. That is the documented Web API way (conditional PATCH/DELETE, a stale version
 * answers 412 ConcurrencyVersionMismatch `0x80060882`, and a `$batch` counts as one request against
 * the request limit), and each record gets its own answer, so a stale one fails alone as CONCURRENCY
 * while its neighbours land. The SDK's UpdateMultipleRequest has `ConcurrencyBehavior`
 * (IfRowVersionMatches = 1), but how the Web API action would carry it (and the row versions of its
 * Targets) is not documented; ⚠ an `@odata.etag` in a Target is not known to be honoured, so it is
 * not relied on. The price is server time: `$batch` parts run one by one, bulk Targets do not.
 * Writes without `ifMatch` keep the bulk messages and `If-Match: *` in the fallback.
 */
export async function writeMany(
  t: DataverseTransport,
  sizer: BulkSizer,
  entitySet: string,
  table: string,
  writes: BulkWrite[],
  options: WriteManyOptions & { bulkTimeoutMs: number; lanes?: number },
): Promise<BulkResult[]> {
  checkName(entitySet, "entity set");
  checkName(table, "table");
  const ctx: Context = { t, sizer, entitySet, table, primaryId: checkName(options.primaryId ?? `${table}id`, "column"), results: new Array(writes.length), bulkTimeoutMs: options.bulkTimeoutMs };
  const groups: Record<BulkWrite["kind"] | "conditional", Item[]> = { create: [], update: [], upsert: [], delete: [], conditional: [] };
  writes.forEach((write, index) => {
    const problem = invalidWrite(write);
    if (problem) ctx.results[index] = { ref: write.ref, ok: false, error: new SyncError("validation", ErrorCodes.BadRequest, problem) };
    else groups[write.kind === "update" && write.ifMatch !== undefined ? "conditional" : write.kind].push({ index, write });
  });
  const executions = t.executionsAtOnce();
  const bulkChunk = (items: Item[]) => spreadChunk(items.length, executions, options.lanes);
  await Promise.all([
    drain(ctx, groups.create, (chunk) => sendBulk(ctx, "create", chunk), bulkChunk(groups.create)),
    drain(ctx, groups.update, (chunk) => sendBulk(ctx, "update", chunk), bulkChunk(groups.update)),
    drain(ctx, groups.upsert, (chunk) => sendBulk(ctx, "upsert", chunk), bulkChunk(groups.upsert)),
    drain(ctx, groups.conditional, (chunk) => sendBatch(ctx, chunk), BATCH_PARTS),
    drain(ctx, groups.delete, (chunk) => sendBatch(ctx, chunk)),
  ]);
  return ctx.results;
}

function invalidWrite(w: BulkWrite): string | undefined {
  if (w.kind !== "delete" && (typeof w.body !== "object" || w.body === null)) return `${w.kind} ${w.ref}: body is required`;
  if ((w.kind === "update" || w.kind === "delete") && !w.id) return `${w.kind} ${w.ref}: id is required`;
  if (w.kind === "upsert" && (!w.key || Object.keys(w.key).length === 0)) return `upsert ${w.ref}: key is required`;
  if (w.ifMatch !== undefined) {
    if (w.kind !== "update" && w.kind !== "delete") return `${w.kind} ${w.ref}: ifMatch applies to update and delete only`;
    const problem = ifMatchProblem(w.ifMatch);
    if (problem) return `${w.kind} ${w.ref}: ${problem}`;
  }
  try {
    if (w.id) checkGuid(w.id);
  } catch (e) {
    return `${w.kind} ${w.ref}: ${(e as Error).message}`;
  }
  return undefined;
}

/**
 * Why an If-Match value cannot be sent: only `*` and (weak) entity tags such as `W/"123"` are valid,
 * and a line break would end the header early inside a `$batch` part.
 */
export function ifMatchProblem(value: string): string | undefined {
  return /^(\*|(W\/)?"[^"\r\n]*")$/.test(value) ? undefined : `ifMatch ${JSON.stringify(value.slice(0, 80))} is not a row version (expected the row's @odata.etag, e.g. W/"123", or *)`;
}

/**
 * Parts per `$batch` of conditional updates. The server runs a batch's parts one after another, so
 * one batch of hundreds is slow however idle the service is; Microsoft's advice is small batches
 * sent in parallel (start at 10, raise concurrency until 429s appear). 50 keeps the request count
 * low (a batch counts as one request) while the parallel batches share the execution time.
 */
const BATCH_PARTS = 50;

/** Records a bulk call carries at least when a chunk is spread over several calls (Dataverse's recommended start: 100–1,000). */
export const SPREAD_MIN_RECORDS = 100;

/**
 * The largest bulk call for `records` of one kind in one write message. The process works on
 * `lanes` messages at once, one bulk call each; when the servers execute more calls at once than
 * that (`executions`: four per server, times the servers the budget learned), each message's
 * records go out as ceil(executions / lanes) calls at once, so the lanes keep the servers busy.
 * Never below SPREAD_MIN_RECORDS a call; no limit without `lanes` or while the lanes suffice.
 */
export function spreadChunk(records: number, executions: number, lanes: number | undefined): number {
  if (!lanes || executions <= lanes) return Number.POSITIVE_INFINITY;
  const calls = Math.ceil(executions / lanes);
  return Math.max(SPREAD_MIN_RECORDS, Math.ceil(records / calls));
}

/** Workers take the next chunk at the size current when they take it, so shrinking applies at once. */
async function drain(ctx: Context, items: Item[], send: (chunk: Item[]) => Promise<void>, maxChunk = Number.POSITIVE_INFINITY): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const chunk = items.slice(next, next + Math.min(ctx.sizer.size, maxChunk));
      next += chunk.length;
      await send(chunk);
    }
  };
  const workers = Math.min(Math.ceil(items.length / ctx.sizer.min), 52);
  await Promise.all(Array.from({ length: workers }, worker));
}

function tooBig(e: SyncError): boolean {
  return e.code === ErrorCodes.Timeout || e.status === 413;
}

/**
 * The request may have been executed although no usable answer came: a timeout, a broken connection,
 * a gateway error, or an answer that is not the documented one.
 */
function mayHaveRun(e: SyncError): boolean {
  return e.code === ErrorCodes.Timeout || e.code === ErrorCodes.Network || e.status === 502 || e.status === 504 || e.code === ErrorCodes.UnexpectedResponse;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Why a 2xx answer to a write is not the documented one, or undefined when it is: 204 with no body,
 * or 200/201 with a JSON object that is not an error (`return=representation`, CreateMultiple). A 200
 * that carries `{"error": …}`, another 2xx, or a body that is not JSON never counts as done.
 */
export function unexpectedWriteAnswer(res: { status: number; text: string }): string | undefined {
  const text = res.text.trim();
  if (res.status === 204) return text === "" ? undefined : "204 with a body";
  if (res.status !== 200 && res.status !== 201) return `status ${res.status}, not 204 (or 200/201 with the written record)`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${res.status} with a body that is not JSON`;
  }
  if (!isObject(body)) return `${res.status} with a body that is not a JSON object`;
  if ("error" in body) {
    const e = isObject(body.error) ? body.error : {};
    return `${res.status} with an error body${typeof e.code === "string" && e.code ? ` [${e.code}]` : ""}${typeof e.message === "string" ? `: ${e.message.slice(0, 200)}` : ""}`;
  }
  return undefined;
}

function unexpected(what: string, why: string, status?: number): SyncError {
  return new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: Dataverse answered ${what} with ${why}; the write is not counted as done`, { status });
}

/**
 * CreateMultiple answers 200 with `Ids`, one GUID per Target in order (the ids we gave, when we gave
 * them). Returns the ids, or throws UNEXPECTED_RESPONSE: a missing or short Ids array is a failure.
 */
function createdIds(res: { status: number; text: string }, chunk: Item[], what: string): string[] {
  const problem = unexpectedWriteAnswer(res) ?? (res.status === 200 ? undefined : `status ${res.status}, not 200 with Ids`);
  if (problem) throw unexpected(what, problem, res.status);
  const ids = (JSON.parse(res.text) as { Ids?: unknown }).Ids;
  if (!Array.isArray(ids)) throw unexpected(what, "no Ids array", res.status);
  if (ids.length !== chunk.length) throw unexpected(what, `${ids.length} Ids for ${chunk.length} Targets`, res.status);
  ids.forEach((id, i) => {
    const own = chunk[i].write.id;
    if (typeof id !== "string" || !GUID.test(id)) throw unexpected(what, `Ids[${i}] ${JSON.stringify(id)?.slice(0, 60)}, not a GUID`, res.status);
    if (own && own.toLowerCase() !== id.toLowerCase()) throw unexpected(what, `Ids[${i}] ${id} for the Target created with id ${own}`, res.status);
  });
  return ids as string[];
}

async function sendBulk(ctx: Context, kind: BulkKind, chunk: Item[]): Promise<void> {
  const type = `Microsoft.Dynamics.CRM.${ctx.table}`;
  const targets = chunk.map(({ write }) => {
    const target: Record<string, unknown> = { ...write.body, "@odata.type": type };
    if (kind === "upsert") target["@odata.id"] = keyPath(ctx.entitySet, write.key!);
    else if (kind === "recreate") target["@odata.id"] = idPath(ctx.entitySet, write.id!);
    else if (write.id) target[ctx.primaryId] = checkGuid(write.id);
    return target;
  });
  // Creates that carry their ids are resent as upserts by id when the answer is lost, not as they were.
  const resendById = kind === "create" && chunk.every(({ write }) => write.id);
  try {
    const res = await ctx.t.send(
      { method: "POST", path: `${ctx.entitySet}/Microsoft.Dynamics.CRM.${bulkMessages[kind]}`, body: JSON.stringify({ Targets: targets }), timeoutMs: ctx.bulkTimeoutMs, cost: { kind: "bulk", records: chunk.length } },
      // A timed-out chunk is split rather than resent whole; throttling and 5xx are retried as is.
      { retryIf: (e) => !tooBig(e) && !(resendById && mayHaveRun(e)) },
    );
    const what = `${bulkMessages[kind]} of ${chunk.length} ${ctx.entitySet}`;
    let ids: string[] = [];
    if (kind === "create") ids = createdIds(res, chunk, what);
    else {
      const problem = unexpectedWriteAnswer(res);
      if (problem) throw unexpected(what, problem, res.status);
    }
    chunk.forEach(({ index, write }, i) => (ctx.results[index] = { ref: write.ref, ok: true, id: ids[i] ?? write.id }));
    ctx.sizer.succeeded();
  } catch (e) {
    const error = asSyncError(e);
    // A duplicate is what a redelivered message meets (delivery is at least once): the rows with our
    // ids are ours, and an upsert by id settles the chunk in one call instead of one read per record.
    const next: BulkKind = resendById && (mayHaveRun(error) || error.code === ErrorCodes.DuplicateKey) ? "recreate" : kind;
    if (next !== kind) {
      ctx.t.logger?.info("A bulk create may have run before (answer lost, or a duplicate); resending its records as upserts by id, so none is created twice", { entitySet: ctx.entitySet, records: chunk.length, code: error.code });
    }
    if (tooBig(error) && chunk.length > 1) {
      ctx.sizer.shrink();
      const half = Math.ceil(chunk.length / 2);
      await Promise.all([sendBulk(ctx, next, chunk.slice(0, half)), sendBulk(ctx, next, chunk.slice(half))]);
    } else if (next !== kind) {
      await sendBulk(ctx, next, chunk);
    } else if (error.retryable || error.kind === "auth") {
      fail(ctx, chunk, error);
    } else {
      ctx.t.logger?.info("Bulk call failed; resending the chunk as $batch to isolate the failing records", { entitySet: ctx.entitySet, kind, records: chunk.length, code: error.code });
      await sendBatch(ctx, chunk, kind === "recreate");
    }
  }
}

function batchRequest(ctx: Context, write: BulkWrite, byId: boolean): BatchRequest {
  const body = write.body === undefined ? undefined : JSON.stringify(write.body);
  // A create resent after a lost answer: PATCH by id without If-Match creates the row or updates it.
  if (byId && write.kind === "create") return { method: "PATCH", url: idPath(ctx.entitySet, write.id!), body };
  switch (write.kind) {
    case "create":
      return { method: "POST", url: ctx.entitySet, body: JSON.stringify(write.id ? { ...write.body, [ctx.primaryId]: checkGuid(write.id) } : write.body) };
    case "update":
      // `*` keeps a plain update from creating the row; a version also makes it conditional.
      return { method: "PATCH", url: idPath(ctx.entitySet, write.id!), headers: { "If-Match": write.ifMatch ?? "*" }, body };
    case "upsert":
      return { method: "PATCH", url: keyPath(ctx.entitySet, write.key!), body };
    case "delete":
      return { method: "DELETE", url: idPath(ctx.entitySet, write.id!), headers: write.ifMatch !== undefined ? { "If-Match": write.ifMatch } : undefined };
  }
}

/**
 * Independent parts (no changeset) with continue-on-error, so each record gets its own result. A
 * chunk that times out or is too large is halved like a bulk chunk (conditional updates now travel
 * here instead of UpdateMultiple). Parts of it may have run: resent, a conditional part then meets
 * its own new version and fails as CONCURRENCY, which makes the caller re-read and decide again.
 */
async function sendBatch(ctx: Context, chunk: Item[], byId = false): Promise<void> {
  const { contentType, body } = encodeBatch(chunk.map(({ write }) => batchRequest(ctx, write, byId)), { serviceRoot: ctx.t.serviceRoot });
  try {
    const res = await ctx.t.send(
      { method: "POST", path: "$batch", headers: { "Content-Type": contentType, Prefer: "odata.continue-on-error" }, body, timeoutMs: ctx.bulkTimeoutMs, cost: { kind: "batch", records: chunk.length } },
      { retryIf: (e) => chunk.length === 1 || !tooBig(e) },
    );
    const parts = decodeBatch(res.headers.get("content-type"), res.text);
    // Parts answer the requests in order; with more or fewer of them, no part can be trusted to be ours.
    if (parts.length !== chunk.length) throw unexpected(`a $batch of ${chunk.length} requests`, `${parts.length} response parts`, res.status);
    chunk.forEach(({ index, write }, i) => {
      const part = parts[i];
      const what = `the $batch part for ${write.kind} ${write.ref}`;
      if (part.status < 200 || part.status >= 300) {
        ctx.results[index] = { ref: write.ref, ok: false, error: classifyDataverseError(part, undefined, ctx.t.clock.now()) };
        return;
      }
      const problem = unexpectedWriteAnswer(part);
      if (problem) ctx.results[index] = { ref: write.ref, ok: false, error: unexpected(what, problem, part.status) };
      else ctx.results[index] = { ref: write.ref, ok: true, id: idFromEntityUrl(part.headers.get("odata-entityid")) ?? write.id };
    });
  } catch (e) {
    const error = asSyncError(e);
    if (!tooBig(error) || chunk.length === 1) return fail(ctx, chunk, error);
    ctx.sizer.shrink();
    const half = Math.ceil(chunk.length / 2);
    await Promise.all([sendBatch(ctx, chunk.slice(0, half), byId), sendBatch(ctx, chunk.slice(half), byId)]);
  }
}

function fail(ctx: Context, chunk: Item[], error: SyncError): void {
  for (const { index, write } of chunk) ctx.results[index] = { ref: write.ref, ok: false, error };
}

function asSyncError(e: unknown): SyncError {
  return isSyncError(e) ? e : new SyncError("permanent", ErrorCodes.BadRequest, (e as Error)?.message ?? String(e), { cause: e });
}
