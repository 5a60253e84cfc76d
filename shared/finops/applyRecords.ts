import { ErrorCodes, SyncError } from "../errors.js";
import type { DeadLetter, Link } from "../ports.js";
import type { RecordFailure } from "../sync/decide.js";
import { canonicalEquals, hashCanonical } from "../sync/hash.js";
import { deterministicGuid } from "../sync/ids.js";
import { findColumn, fromFinopsText, keyOfRow } from "./finopsValues.js";
import { due, nowIso, pendingId, pendingOf, recordPending, type JobOutcome, type JobRun } from "./jobSupport.js";
import { readRecords } from "./packageCodec.js";

/** Records written to the app at once; the file is read on only as they finish (bounded memory). */
const WINDOW = 64;

interface Applying {
  x: JobRun;
  counts: JobOutcome["counts"];
  failures: RecordFailure[];
  pending: Map<string, DeadLetter>;
  /** The job's links by key (id and hash only, no base): a file's records need no read to be created or skipped. */
  known?: Map<string, { appId: string; hash: string }>;
  /** Keys written in this file so far. */
  written: Set<string>;
  /** The links of the window not stored yet, by key (a key met again reads its link here). */
  unstored: Map<string, Link>;
  /** Writes in flight by key: a file that holds a key twice writes it in file order, never side by side. */
  inFlight?: Map<string, Promise<void>>;
}

/** The job's links, ids and hashes only (about 100 bytes a link): read once per file instead of once per record. */
async function knownLinks(x: JobRun): Promise<Map<string, { appId: string; hash: string }>> {
  const known = new Map<string, { appId: string; hash: string }>();
  for await (const d of x.f.s.state.listLinkDigests(x.job.name)) if (!d.pendingCreate) known.set(d.dataverseId, { appId: d.appId, hash: d.hash });
  return known;
}

/** Writes every record of a downloaded file to the app; returns how many there were and how many are pending. */
export async function applyFile(x: JobRun, file: string, counts: JobOutcome["counts"]): Promise<{ records: number; failed: number }> {
  const a: Applying = { x, counts, failures: [], pending: await pendingOf(x, "toApp"), known: await knownLinks(x), written: new Set(), unstored: new Map(), inFlight: new Map() };
  let records = 0;
  let failed = 0;
  let window: Promise<void>[] = [];
  const flush = async () => {
    await Promise.all(window);
    window = [];
    // One link a key (a key met twice in the window keeps its last): a transaction takes an entity once.
    const links = [...a.unstored.values()];
    a.unstored.clear();
    if (links.length) await x.f.s.state.putLinks(links);
    failed += a.failures.length;
    await recordPending(x, a.failures.splice(0));
  };
  for await (const row of readRecords(file, x.job.entityFile)) {
    records += 1;
    window.push(applyRow(a, row, records));
    if (window.length >= WINDOW) await flush();
  }
  await flush();
  counts.failed += failed;
  return { records, failed };
}

/** from-finops pending records whose back-off has passed: their F&O values were kept; written again. */
export async function applyPendingRecords(x: JobRun, counts: JobOutcome["counts"]): Promise<void> {
  const a: Applying = { x, counts, failures: [], pending: await pendingOf(x, "toApp"), written: new Set(), unstored: new Map() };
  for (const d of due(a.pending, x.f.s.clock.now())) {
    const kept = d.payload as { key?: string; data?: Record<string, unknown> } | null;
    if (!kept?.key || !kept.data) continue;
    await write(a, kept.key, kept.data);
  }
  if (a.unstored.size) await x.f.s.state.putLinks([...a.unstored.values()]);
  counts.failed += a.failures.length;
  await recordPending(x, a.failures);
}

async function applyRow(a: Applying, row: Record<string, string>, n: number): Promise<void> {
  const key = keyOfRow(a.x.job, row);
  if (!key) {
    a.failures.push(failure(`row:${n}`, new SyncError("validation", ErrorCodes.FinopsRecordUnreadable, `row ${n} of the file has no value in its key (${a.x.job.key?.join(", ") ?? a.x.job.fields[0].finops})`), { row }));
    return;
  }
  const data: Record<string, unknown> = {};
  try {
    for (const f of a.x.job.fields) data[f.app] = fromFinopsText(f, findColumn(row, f.finops));
  } catch (e) {
    a.failures.push(failure(key, e, { key, row }));
    return;
  }
  // The same key again while its earlier row is still being written: after it, so the later row
  // wins and sees the link the earlier one wrote (two creates side by side would keep the first).
  const earlier = a.inFlight?.get(key);
  const mine = (earlier ?? Promise.resolve()).then(() => write(a, key, data));
  a.inFlight?.set(key, mine);
  try {
    await mine;
  } finally {
    if (a.inFlight?.get(key) === mine) a.inFlight.delete(key);
  }
}

/**
 * One record to the app, matched by key through the link map: created (POST, idempotent on a
 * deterministic dataverseId, so a create whose link was lost is not made twice) or updated with only
 * the fields that differ from what was last written; a record equal to it is skipped. A permanent
 * refusal makes it pending with its values kept; a transient failure fails the run (no ack).
 */
async function write(a: Applying, key: string, data: Record<string, unknown>): Promise<void> {
  const { s } = a.x.f;
  const job = a.x.job;
  const hash = hashCanonical(data);
  try {
    const digest = a.known ? a.known.get(key) : undefined;
    if (digest?.hash === hash) {
      a.counts.skipped += 1;
      await clearPending(a, key);
      return;
    }
    // Unknown to the digests read at the start: a create, unless this file holds the key twice (then the link just written).
    let link = a.unstored.get(key) ?? (a.known && !digest && !a.written.has(key) ? null : await s.state.getLinkByDataverse(job.name, key));
    if (link && link.hash === hash) {
      a.counts.skipped += 1;
      await clearPending(a, key);
      return;
    }
    let result;
    if (link) {
      const changed = Object.fromEntries(Object.entries(data).filter(([k, v]) => !canonicalEquals(link!.base[k], v)));
      try {
        result = await s.app.update(job.app.entity, link.appId, changed);
        a.counts.updated += 1;
      } catch (e) {
        if (!(e instanceof SyncError) || e.code !== ErrorCodes.NotFound) throw e;
        link = null; // deleted in the app: created again, as F&O still has it
      }
    }
    if (!result) {
      result = await s.app.create(job.app.entity, data, deterministicGuid("finops", job.name, key));
      a.counts.created += 1;
    }
    const written: Link = { mapping: job.name, appId: result.id, dataverseId: key, base: data, hash, appVersion: result.version, lastSyncedAt: nowIso(s.clock) };
    a.written.add(key);
    a.unstored.set(key, written);
    await clearPending(a, key);
  } catch (e) {
    if (e instanceof SyncError && !e.retryable) {
      a.failures.push(failure(key, e, { key, data }));
      return;
    }
    throw e;
  }
}

async function clearPending(a: Applying, key: string): Promise<void> {
  if (a.pending.has(key)) await a.x.f.s.state.deleteDeadLetter(pendingId(a.x.job.name, "toApp", key));
}

function failure(recordId: string, e: unknown, payload: unknown): RecordFailure {
  const err = e instanceof SyncError ? e : new SyncError("permanent", ErrorCodes.FinopsRecordUnreadable, String(e));
  return { direction: "toApp", recordId, code: err.code, message: err.message, retryable: err.retryable, payload };
}
