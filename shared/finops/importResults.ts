import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { keyFieldsOf } from "../config/finopsJob.js";
import { ErrorCodes } from "../errors.js";
import type { RecordFailure } from "../sync/decide.js";
import type { ExecutionError } from "./finopsClient.js";
import type { FinopsMessage, MessageStatus } from "./finopsLedger.js";
import { keyOfRow } from "./finopsValues.js";
import { keyInError, nowIso, pendingId, pollUntil, recordPending, type JobRun } from "./jobSupport.js";
import { readRecords } from "./packageCodec.js";

const EMPTY_GUID = "00000000-0000-0000-0000-000000000000";

/**
 * F&O's status words, compared case-insensitively (the sources disagree on spellings: DOC-RI's
 * PostProcessingFailed, RIS's PostProcessingError, 1.5). Anything else is not final yet.
 */
const SUCCEEDED = new Set(["processed", "succeeded"]);
const WITH_ERRORS = new Set(["processedwitherrors", "partiallysucceeded"]);
const FAILED = new Set(["preprocessingerror", "postprocessingfailed", "postprocessingerror", "failed", "canceled", "cancelled", "error"]);

export function finalStatusOf(word: string): MessageStatus | undefined {
  const w = word.replace(/\s+/g, "").toLowerCase();
  if (SUCCEEDED.has(w)) return "processed";
  if (WITH_ERRORS.has(w)) return "processed_with_errors";
  if (FAILED.has(w)) return "failed";
  return undefined;
}

/** F&O's status of an import: GetMessageStatus (recurring) or GetExecutionSummaryStatus (package API). */
export function readImportStatus(x: JobRun, m: FinopsMessage): Promise<string> {
  const c = x.f.client;
  return m.messageId ? c.getMessageStatus(m.messageId) : c.getExecutionSummaryStatus(m.executionId ?? "");
}

/**
 * Polls an import until F&O has processed it (or this run's polling time is spent), then turns its
 * errors into pending records of the app records they came from. Returns the message as recorded.
 */
export async function settleImport(x: JobRun, m: FinopsMessage, wait: boolean): Promise<FinopsMessage> {
  const { clock } = x.f.s;
  const word = wait ? await pollUntil(clock, x.poll, () => readImportStatus(x, m), (w) => !!finalStatusOf(w)) : await readImportStatus(x, m);
  const final = finalStatusOf(word);
  if (!final) return x.f.ledger.update(x.job.name, m.id, (r) => ({ ...r, finopsStatus: word, updatedAt: nowIso(clock) }));
  const failures = final === "processed" ? [] : await importFailures(x, m, word);
  await recordPending(x, failures);
  const failed = new Set(failures.map((f) => f.appId).filter((id): id is string => !!id));
  for (const appId of m.revisitedIds ?? []) {
    if (!failed.has(appId)) await x.f.s.state.deleteDeadLetter(pendingId(x.job.name, "toDataverse", appId));
  }
  x.f.s.logger.info("F&O import processed", { job: x.job.name, id: m.id, status: word, failed: failures.length });
  return x.f.ledger.update(x.job.name, m.id, (r) => ({ ...r, status: final, finopsStatus: word, failed: failures.length, updatedAt: nowIso(clock) }));
}

/** Execution errors and error keys, each tied to the app record it came from where F&O names it. */
async function importFailures(x: JobRun, m: FinopsMessage, word: string): Promise<RecordFailure[]> {
  const c = x.f.client;
  const executionId = m.executionId ?? (m.messageId ? await c.getExecutionIdByMessageId(m.messageId) : "");
  const errors = executionId && executionId !== EMPTY_GUID ? await c.getExecutionErrors(executionId) : [];
  const byKey = new Map<string, string[]>();
  const loose: string[] = [];
  for (const e of errors) {
    const key = keyInError(x.job, e.message);
    if (key) byKey.set(key, [...(byKey.get(key) ?? []), e.message]);
    else if (e.message) loose.push(e.message);
  }
  if (x.job.api === "package" && executionId) {
    for (const key of await errorKeys(x, executionId)) if (!byKey.has(key)) byKey.set(key, []);
  }
  const where = m.messageId ? `message ${m.messageId}` : `execution ${executionId}`;
  const failures: RecordFailure[] = [];
  for (const [key, messages] of byKey) {
    const appId = await appIdOfKey(x, key);
    const said = messages.length ? messages.join("; ") : "the record is in the execution's error-keys file (staging to target failed)";
    if (!appId) {
      loose.push(`${keyFieldsOf(x.job).join("|")}=${key}: ${said}`);
      continue;
    }
    failures.push({
      direction: "toDataverse", recordId: appId, appId, code: ErrorCodes.FinopsRecordRejected, retryable: true,
      message: `F&O rejected the record (${where}, ${word}): ${said}`, payload: { job: x.job.name, key, messageId: m.messageId, executionId },
    });
  }
  if (loose.length || !failures.length) {
    const said = loose.length ? loose.join("; ") : `F&O reported ${word} and named no record (execution ${executionId || "unknown"})`;
    failures.push({
      direction: "toDataverse", recordId: `message:${m.id}`, code: ErrorCodes.FinopsMessageFailed, retryable: false,
      message: `F&O ${where} ended ${word}: ${said}`, payload: { job: x.job.name, messageId: m.messageId, executionId, batchId: m.batchId },
    });
  }
  return failures;
}

/** The app id a key was sent for: the key itself when the key field is the app id, else the link map. */
async function appIdOfKey(x: JobRun, key: string): Promise<string | undefined> {
  if (keyIsAppId(x)) return key;
  return (await x.f.s.state.getLinkByDataverse(x.job.name, key))?.appId;
}

export function keyIsAppId(x: Pick<JobRun, "job">): boolean {
  const keys = keyFieldsOf(x.job);
  return keys.length === 1 && x.job.fields.find((f) => f.finops === keys[0])?.app === "id";
}

/** The package API's error-keys file of the job's entity: generated, polled until its URL is there, read. */
async function errorKeys(x: JobRun, executionId: string): Promise<string[]> {
  const c = x.f.client;
  const entity = x.job.entity ?? "";
  if (!(await c.generateImportTargetErrorKeysFile(executionId, entity))) return [];
  const url = await pollUntil(x.f.s.clock, { ...x.poll, firstMs: Math.min(x.poll.firstMs, 1_000) }, () => c.getImportTargetErrorKeysFileUrl(executionId, entity), (u) => !!u);
  if (!url) return [];
  const file = join(x.f.tmpDir, `finops-keys-${randomUUID()}`);
  try {
    await c.downloadBlob(url, file);
    const keys: string[] = [];
    for await (const row of readRecords(file)) {
      const key = keyOfRow(x.job, row);
      if (key) keys.push(key);
    }
    return keys;
  } finally {
    await rm(file, { force: true });
  }
}

export type { ExecutionError };
