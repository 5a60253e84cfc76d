import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { activityIdOf } from "../config/finopsJob.js";
import { ErrorCodes, SyncError } from "../errors.js";
import type { DequeuedMessage } from "./finopsClient.js";
import type { FinopsMessage } from "./finopsLedger.js";
import { applyFile, applyPendingRecords } from "./applyRecords.js";
import { finalStatusOf } from "./importResults.js";
import { nowIso, pollUntil, zeroCounts, type JobOutcome, type JobRun } from "./jobSupport.js";

/** Messages one run takes at most (each one is a whole export file). */
export const MAX_MESSAGES_PER_RUN = 50;

/**
 * from-finops: take F&O's exports (dequeue, or ExportToPackage), record each message BEFORE using
 * it, download it to a file, write its records to the app, and only then acknowledge it. A message
 * F&O delivers again because its ack was lost is recognised by the ledger, acknowledged again and
 * not applied; one whose run died before the ack is applied again, which writes nothing twice
 * (records are matched through the link map and written only where they differ).
 */
export async function runFromFinops(x: JobRun): Promise<JobOutcome> {
  const counts = zeroCounts();
  const notes: string[] = [];
  await applyPendingRecords(x, counts);
  if (x.job.api === "package") await exportPackage(x, counts, notes);
  else {
    for (let i = 0; i < MAX_MESSAGES_PER_RUN; i++) {
      const msg = await x.f.client.dequeue(activityIdOf(x.job));
      if (!msg) break;
      await takeMessage(x, msg, counts, notes);
      if (i === MAX_MESSAGES_PER_RUN - 1) notes.push(`took ${MAX_MESSAGES_PER_RUN} messages, the most one run takes; the next run takes the rest`);
    }
  }
  return { counts, notes };
}

/**
 * The message's identity across deliveries: the `blob` of its DownloadLocation (the file), else its
 * CorrelationId. ⚠ inferred: whether F&O gives a redelivery a new CorrelationId is not documented
 * (finops-activities-tenants.md 1.13), the file it points at is the same message.
 */
export function exportMessageId(msg: Pick<DequeuedMessage, "downloadLocation" | "correlationId">): string {
  try {
    const url = new URL(msg.downloadLocation);
    for (const [k, v] of url.searchParams) if (k.toLowerCase() === "blob" && v) return `blob:${v.replace(/[{}]/g, "").toLowerCase()}`;
  } catch {
    // not a URL: the correlation id names it
  }
  return `correlation:${msg.correlationId.replace(/[{}]/g, "").toLowerCase()}`;
}

async function takeMessage(x: JobRun, msg: DequeuedMessage, counts: JobOutcome["counts"], notes: string[]): Promise<void> {
  const { ledger, client, s } = x.f;
  const id = exportMessageId(msg);
  const at = nowIso(s.clock);
  const claim = await ledger.claim({
    job: x.job.name, id, direction: "from-finops", correlationId: msg.correlationId, status: "dequeued", records: 0, failed: 0,
    createdAt: at, dequeuedAt: at, updatedAt: at, deliveries: 1, runId: x.runId,
  });
  if (!claim.created) {
    const prior = claim.message;
    if (prior.status === "applied" || prior.status === "acked") {
      // Applied before; its ack was lost (or never sent): acknowledge it, apply nothing.
      await client.ack(activityIdOf(x.job), msg.raw);
      await ledger.update(x.job.name, id, (r) => ({ ...r, status: "acked", ackedAt: nowIso(s.clock), deliveries: (r.deliveries ?? 1) + 1, correlationId: msg.correlationId, updatedAt: nowIso(s.clock) }));
      notes.push(`message ${msg.correlationId} was delivered again after it had been applied (its acknowledgement was lost): acknowledged, not applied again`);
      s.logger.info("F&O message redelivered: acked, not applied again", { job: x.job.name, id });
      return;
    }
    await ledger.update(x.job.name, id, (r) => ({ ...r, deliveries: (r.deliveries ?? 1) + 1, correlationId: msg.correlationId, runId: x.runId, updatedAt: nowIso(s.clock) }));
    notes.push(`message ${msg.correlationId} was taken before by a run that did not finish it: applied again (records already written are skipped)`);
  }
  if (!msg.fileExists) {
    throw new SyncError("transient", ErrorCodes.FinopsUnexpectedFile, `F&O has no file for message ${msg.correlationId}${msg.downloadError ? `: ${msg.downloadError}` : ""}; it is not acknowledged and comes back`);
  }
  const file = join(x.f.tmpDir, `finops-${randomUUID()}`);
  try {
    const download = await client.download(msg.downloadLocation, file);
    s.logger.info("F&O message downloaded", { job: x.job.name, id, bytes: download.bytes });
    const applied = await applyFile(x, file, counts);
    await ledger.update(x.job.name, id, (r) => ({ ...r, status: "applied", records: applied.records, failed: applied.failed, hash: download.sha256, updatedAt: nowIso(s.clock) }));
  } finally {
    await rm(file, { force: true });
  }
  await client.ack(activityIdOf(x.job), msg.raw);
  await ledger.update(x.job.name, id, (r) => ({ ...r, status: "acked", ackedAt: nowIso(s.clock), updatedAt: nowIso(s.clock) }));
  s.logger.info("F&O message acknowledged", { job: x.job.name, id });
}

/**
 * The package API: ExportToPackage with our execution id (recorded first), the execution polled
 * until final, the package's URL polled until F&O has it, then downloaded and applied. An export a
 * previous run started and did not finish is picked up by its execution id instead of a new one.
 */
async function exportPackage(x: JobRun, counts: JobOutcome["counts"], notes: string[]): Promise<void> {
  const { ledger, client, s } = x.f;
  const open = (await ledger.open(x.job.name)).find((m) => m.direction === "from-finops" && m.executionId);
  let message: FinopsMessage;
  if (open) {
    message = open;
    notes.push(`export ${open.executionId} of an earlier run is collected`);
  } else {
    const executionId = `${x.job.name}-${x.runId}`;
    const at = nowIso(s.clock);
    ({ message } = await ledger.claim({ job: x.job.name, id: executionId, direction: "from-finops", executionId, status: "dequeued", records: 0, failed: 0, createdAt: at, dequeuedAt: at, updatedAt: at, runId: x.runId }));
    const answered = await client.exportToPackage({ definitionGroupId: x.job.dataProject!, packageName: x.job.name, executionId, legalEntityId: x.job.company ?? "" });
    if (answered === "00000000-0000-0000-0000-000000000000") throw new SyncError("permanent", ErrorCodes.FinopsMessageFailed, `ExportToPackage of data project ${x.job.dataProject} did not start (empty execution id)`);
  }
  const executionId = message.executionId!;
  const word = await pollUntil(s.clock, x.poll, () => client.getExecutionSummaryStatus(executionId), (w) => !!finalStatusOf(w));
  const final = finalStatusOf(word);
  if (!final) {
    notes.push(`export ${executionId} is still ${word || "running"} in F&O; the next run collects it`);
    return;
  }
  if (final === "failed") {
    await ledger.update(x.job.name, message.id, (r) => ({ ...r, status: "acked", finopsStatus: word, updatedAt: nowIso(s.clock) }));
    throw new SyncError("permanent", ErrorCodes.FinopsMessageFailed, `F&O's export ${executionId} of data project ${x.job.dataProject} ended ${word}`);
  }
  const url = await pollUntil(s.clock, x.poll, () => client.getExportedPackageUrl(executionId), (u) => !!u);
  if (!url) {
    notes.push(`export ${executionId} has no package URL yet; the next run collects it`);
    return;
  }
  const file = join(x.f.tmpDir, `finops-${randomUUID()}`);
  try {
    const download = await client.downloadBlob(url, file);
    const applied = await applyFile(x, file, counts);
    await ledger.update(x.job.name, message.id, (r) => ({ ...r, status: "acked", finopsStatus: word, records: applied.records, failed: applied.failed, hash: download.sha256, ackedAt: nowIso(s.clock), updatedAt: nowIso(s.clock) }));
  } finally {
    await rm(file, { force: true });
  }
}
