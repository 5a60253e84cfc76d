import { createHash, randomUUID } from "node:crypto";
import { activityIdOf, keyFieldsOf } from "../config/finopsJob.js";
import { ErrorCodes, SyncError } from "../errors.js";
import type { AppRecord, Cursor, Link } from "../ports.js";
import type { RecordFailure } from "../sync/decide.js";
import { compileFilter } from "../sync/filters.js";
import type { FinopsMessage } from "./finopsLedger.js";
import { toFinopsText } from "./finopsValues.js";
import { keyIsAppId, settleImport } from "./importResults.js";
import { due, nowIso, pendingOf, recordPending, zeroCounts, type JobOutcome, type JobRun } from "./jobSupport.js";
import { buildPackage, renderCsv } from "./packageCodec.js";

/** Pending records re-sent per batch at most (their ids travel in the ledger row, which has a size limit). */
const MAX_REVISITS = 500;

interface Batch {
  rows: string[][];
  links: Link[];
  revisitedIds: string[];
  /** The app cursor to save once this batch is accepted (the end of its last page). */
  cursorAfter?: string;
}

/**
 * to-finops: the app's changes since the job's own cursor (plus its due pending records), mapped to
 * the entity's fields, sent as a CSV file or a data package per batch; each batch is recorded before
 * it is sent and the cursor moves only once F&O has accepted it. Then F&O's processing is awaited
 * and its errors become pending records of the app records they came from.
 */
export async function runToFinops(x: JobRun): Promise<JobOutcome> {
  const { s } = x.f;
  const counts = zeroCounts();
  const notes: string[] = [];
  await settleOpenImports(x, notes);
  const pending = await pendingOf(x, "toDataverse");
  const filter = x.job.app.filter ? compileFilter(x.job.app.filter, { now: () => s.clock.now() }) : undefined;
  const columns = x.job.fields.map((f) => f.finops);
  const failures: RecordFailure[] = [];
  const seen = new Set<string>();
  let batch: Batch = { rows: [], links: [], revisitedIds: [] };

  const take = (record: AppRecord, revisit: boolean) => {
    if (seen.has(record.id)) return;
    seen.add(record.id);
    if (record.deleted || !record.data) {
      counts.skipped += 1; // F&O imports create and update; a delete in the app is not sent.
      return;
    }
    const data: Record<string, unknown> = { ...record.data, id: record.id };
    if (filter && !filter(data)) {
      counts.skipped += 1;
      return;
    }
    try {
      const row = x.job.fields.map((f) => toFinopsText(f, data[f.app]));
      const key = keyFieldsOf(x.job).map((k) => row[columns.indexOf(k)]).join("|");
      if (!key || keyFieldsOf(x.job).some((k) => !row[columns.indexOf(k)])) throw new SyncError("validation", ErrorCodes.Unmappable, `the key (${keyFieldsOf(x.job).join(", ")}) is empty`);
      batch.rows.push(row);
      if (!keyIsAppId(x)) batch.links.push({ mapping: x.job.name, appId: record.id, dataverseId: key, base: {}, hash: "", lastSyncedAt: nowIso(s.clock) });
      if (revisit || pending.has(record.id)) batch.revisitedIds.push(record.id);
    } catch (e) {
      const err = e instanceof SyncError ? e : new SyncError("validation", ErrorCodes.Unmappable, String(e));
      failures.push({ direction: "toDataverse", recordId: record.id, appId: record.id, code: err.code, message: err.message, retryable: false, payload: { side: "app", appId: record.id } });
    }
  };

  for (const d of due(pending, s.clock.now()).filter((p) => p.appId).slice(0, MAX_REVISITS)) {
    const record = await s.app.get(x.job.app.entity, d.appId!);
    if (record) take(record, true);
    else await s.state.deleteDeadLetter(d.id); // gone from the app: nothing left to send
  }
  // Records that cannot be sent are pending BEFORE any cursor moves past them (a batch sent moves it).
  const pendFailures = async () => {
    counts.failed += failures.length;
    await recordPending(x, failures.splice(0));
  };
  let cursor = await s.state.getCursor(x.job.name, "app");
  for await (const page of s.app.changes(x.job.app.entity, cursor?.value)) {
    for (const record of page.records) take(record, false);
    batch.cursorAfter = page.nextCursor;
    if (batch.rows.length >= x.job.batchSize) {
      await pendFailures();
      cursor = await sendBatch(x, batch, cursor, counts, notes);
      batch = { rows: [], links: [], revisitedIds: [] };
    }
  }
  await pendFailures();
  if (batch.rows.length) cursor = await sendBatch(x, batch, cursor, counts, notes);
  else if (batch.cursorAfter !== undefined && batch.cursorAfter !== cursor?.value) await saveCursor(x, batch.cursorAfter, cursor);
  return { counts, notes };
}

/** Imports of earlier runs that F&O had not finished: collect their results first. */
async function settleOpenImports(x: JobRun, notes: string[]): Promise<void> {
  for (const m of await x.f.ledger.open(x.job.name)) {
    if (m.direction !== "to-finops") continue;
    if (m.status === "sending" || m.status === "unconfirmed") await unconfirmed(x, m, notes);
    else if (m.status === "enqueued") {
      const settled = await settleImport(x, m, false);
      if (settled.status === "enqueued") notes.push(`message ${m.messageId ?? m.executionId} of an earlier run is still ${settled.finopsStatus ?? "enqueued"} in F&O`);
    }
  }
}

/**
 * An import recorded as being sent whose answer never came (the process died, or the call's answer
 * was lost). The recurring connector has no idempotency key and no way to look a message up by our
 * external identifier, so it may or may not be in F&O: the job stops and says so, until an operator
 * decides (--resend: it is not in F&O; --mark-sent: it is). The package API's execution id is ours,
 * so there the answer is asked for: an execution F&O knows was sent.
 */
async function unconfirmed(x: JobRun, m: FinopsMessage, notes: string[]): Promise<void> {
  const { ledger, client } = x.f;
  const at = nowIso(x.f.s.clock);
  if (x.job.api === "package" && m.executionId) {
    const status = await client.getExecutionSummaryStatus(m.executionId);
    if (status && !/^unknown$/i.test(status)) {
      await ledger.update(x.job.name, m.id, (r) => ({ ...r, status: "enqueued", finopsStatus: status, enqueuedAt: r.enqueuedAt ?? at, updatedAt: at }));
      if (m.cursorAfter !== undefined) await saveCursor(x, m.cursorAfter, await x.f.s.state.getCursor(x.job.name, "app"));
      notes.push(`import ${m.executionId}, whose answer was lost, is known to F&O (${status}): recorded as sent`);
      return;
    }
    await ledger.update(x.job.name, m.id, (r) => ({ ...r, status: "failed", finopsStatus: "not received by F&O", updatedAt: at }));
    notes.push(`import ${m.executionId}, whose answer was lost, is unknown to F&O: its records are sent again`);
    return;
  }
  if (x.markSent) {
    await ledger.update(x.job.name, m.id, (r) => ({ ...r, status: "processed", finopsStatus: "marked sent by an operator", updatedAt: at }));
    if (m.cursorAfter !== undefined) await saveCursor(x, m.cursorAfter, await x.f.s.state.getCursor(x.job.name, "app"));
    notes.push(`batch ${m.batchId} marked as received by F&O (--mark-sent); its records are not sent again`);
    return;
  }
  if (x.resend) {
    await ledger.update(x.job.name, m.id, (r) => ({ ...r, status: "failed", finopsStatus: "resent by an operator", updatedAt: at }));
    notes.push(`batch ${m.batchId} sent again (--resend)`);
    return;
  }
  if (m.status === "sending") await ledger.update(x.job.name, m.id, (r) => ({ ...r, status: "unconfirmed", updatedAt: at }));
  throw new SyncError("permanent", ErrorCodes.FinopsEnqueueUnconfirmed,
    `job ${x.job.name}: batch ${m.batchId} (${m.records} records, sent ${m.createdAt} as external identifier ${x.job.name}-${m.batchId}) may or may not have reached F&O: its enqueue's answer was lost, and F&O offers no way to look it up. `
    + `Look for it in F&O (Data management > Manage messages of the recurring job), then run \`npm run sync -- --finops ${x.job.name} --mark-sent\` if it is there, or \`--resend\` if it is not. Nothing is sent until then.`,
    { details: { job: x.job.name, batchId: m.batchId } });
}

/** Records the batch, sends it, records F&O's answer, moves the cursor, then waits for the result. */
async function sendBatch(x: JobRun, batch: Batch, cursor: Cursor | null, counts: JobOutcome["counts"], notes: string[]): Promise<Cursor | null> {
  const { s, client, ledger } = x.f;
  const batchId = randomUUID();
  const name = `${x.job.name}-${batchId}`;
  const columns = x.job.fields.map((f) => f.finops);
  const csv = renderCsv(columns, batch.rows);
  const body = x.job.format === "package" ? await buildPackage({ project: x.job.dataProject ?? x.job.name, entity: x.job.entity!, columns, csv }) : csv;
  if (batch.links.length) await s.state.putLinks(batch.links);
  const at = nowIso(s.clock);
  const executionId = x.job.api === "package" ? name : undefined;
  const intent: FinopsMessage = {
    job: x.job.name, id: batchId, direction: "to-finops", batchId, ...(executionId ? { executionId } : {}), status: "sending",
    records: batch.rows.length, failed: 0, hash: createHash("sha256").update(body).digest("hex"),
    ...(batch.cursorAfter !== undefined ? { cursorAfter: batch.cursorAfter } : {}), revisitedIds: batch.revisitedIds, createdAt: at, updatedAt: at, runId: x.runId,
  };
  await ledger.claim(intent);
  let sent: { messageId?: string; executionId?: string };
  try {
    sent = x.job.api === "package" ? { executionId: await importPackage(x, name, executionId!, body) }
      : { messageId: await client.enqueue(activityIdOf(x.job), body, { entity: x.job.format === "csv" ? x.job.entity : undefined, company: x.job.company, externalId: name }) };
  } catch (e) {
    // A 4xx (429 included) means F&O refused it: nothing arrived. No answer, or a 5xx from behind a
    // gateway: it may have arrived.
    const refused = e instanceof SyncError && e.status !== undefined && e.status < 500;
    await ledger.update(x.job.name, batchId, (r) => ({ ...r, status: refused ? "failed" : "unconfirmed", finopsStatus: refused ? `refused: ${e.message}` : "no answer", updatedAt: nowIso(s.clock) }));
    throw e;
  }
  let message = await ledger.update(x.job.name, batchId, (r) => ({ ...r, ...sent, status: "enqueued", enqueuedAt: nowIso(s.clock), updatedAt: nowIso(s.clock) }));
  s.logger.info("F&O import sent", { job: x.job.name, batchId, messageId: sent.messageId, executionId: sent.executionId, records: batch.rows.length });
  const saved = batch.cursorAfter !== undefined ? await saveCursor(x, batch.cursorAfter, cursor) : cursor;
  message = await settleImport(x, message, true);
  if (message.status === "enqueued") notes.push(`message ${sent.messageId ?? sent.executionId} is still ${message.finopsStatus ?? "enqueued"} in F&O; the next run collects its result`);
  counts.created += message.records - message.failed;
  counts.failed += message.failed;
  return saved;
}

/** The package API: a write URL, the blob PUT with its SAS, then ImportFromPackage with our execution id. */
async function importPackage(x: JobRun, name: string, executionId: string, body: Buffer): Promise<string> {
  const { client } = x.f;
  const { blobUrl } = await client.getAzureWriteUrl(`${name}.zip`);
  await client.putBlob(blobUrl, body);
  const answered = await client.importFromPackage({ packageUrl: blobUrl, definitionGroupId: x.job.dataProject!, executionId, legalEntityId: x.job.company ?? "" });
  return answered || executionId;
}

async function saveCursor(x: JobRun, value: string, previous: Cursor | null): Promise<Cursor> {
  return x.f.s.state.putCursor({ mapping: x.job.name, side: "app", value, takenAt: nowIso(x.f.s.clock), ...(previous?.etag ? { etag: previous.etag } : {}) });
}
