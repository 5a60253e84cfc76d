import { odata, type TableClient } from "@azure/data-tables";
import { ErrorCodes, SyncError } from "../errors.js";
import type { RunRecord } from "../ports.js";
import { encodeKey, runIndexRowKey } from "./keys.js";
import { readJson, writeJson } from "./jsonColumn.js";
import { retryOnConcurrency, type CasRetryOptions } from "./casRetry.js";
import { concurrencyError, statusOf, translateStorageError } from "./tableErrors.js";
import { getOrNull, requireEtag, wrap, type Row } from "./tableSupport.js";

const RUN_PARTITION = "run";
/** Index partitions live under `~` so they never meet a real key (see keys.ts). */
const ALL_INDEX = "~idx";
const mappingIndex = (mapping: string): string => `~idx|${encodeKey(mapping)}`;
export const DEFAULT_RUN_LIMIT = 50;

/**
 * Runs: PK "run", RK runId, the record as a JSON column. Two pointer indexes (all runs, and per
 * mapping) keyed by inverted start time let listRuns read the newest N without a scan. Index
 * entries are written before the run, so a crash leaves at most a pointer to nothing (skipped).
 */
export class TableRuns {
  constructor(private readonly client: TableClient, private readonly retry: CasRetryOptions = {}) {}

  async create(run: RunRecord): Promise<RunRecord> {
    const indexKey = indexRowKey(run);
    await wrap("index run", () => Promise.all([
      this.client.upsertEntity({ partitionKey: ALL_INDEX, rowKey: indexKey, runId: run.runId }, "Replace"),
      this.client.upsertEntity({ partitionKey: mappingIndex(run.mapping), rowKey: indexKey, runId: run.runId }, "Replace"),
    ]));
    try {
      const res = await this.client.createEntity(toEntity(run));
      return { ...strip(run), etag: requireEtag(res.etag, "create run") };
    } catch (e) {
      throw translateStorageError(e, `create run ${run.runId}`);
    }
  }

  async get(runId: string): Promise<RunRecord | null> {
    const row = await getOrNull(this.client, RUN_PARTITION, encodeKey(runId), "read run");
    return row ? toRun(row) : null;
  }

  async update(runId: string, mutate: (run: RunRecord) => RunRecord): Promise<RunRecord> {
    return retryOnConcurrency(`run ${runId}`, async () => {
      const current = await this.get(runId);
      if (!current) throw new SyncError("permanent", ErrorCodes.NotFound, `run ${runId} does not exist`);
      const next = { ...strip(mutate(structuredClone(current))), runId };
      try {
        const res = await this.client.updateEntity(toEntity(next), "Replace", { etag: current.etag });
        return { ...next, etag: requireEtag(res.etag, "update run") };
      } catch (e) {
        if (statusOf(e) === 412) throw concurrencyError(`run ${runId}`, e);
        throw translateStorageError(e, `update run ${runId}`);
      }
    }, this.retry);
  }

  async list(options: { mapping?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const limit = Math.max(1, options.limit ?? DEFAULT_RUN_LIMIT);
    const partition = options.mapping === undefined ? ALL_INDEX : mappingIndex(options.mapping);
    const ids = await wrap("list runs", async () => {
      const found: string[] = [];
      const pages = this.client.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${partition}`, select: ["runId"] } })
        .byPage({ maxPageSize: Math.min(limit, 1000) });
      for await (const page of pages) {
        // A refused duplicate createRun may have left a second pointer to the same run.
        for (const row of page) if (found.length < limit && !found.includes(String(row.runId))) found.push(String(row.runId));
        if (found.length >= limit) break;
      }
      return found;
    });
    const runs = await Promise.all(ids.map((id) => this.get(id)));
    return runs.filter((r): r is RunRecord => r !== null);
  }
}

function indexRowKey(run: RunRecord): string {
  try {
    return runIndexRowKey(run.startedAt, run.runId);
  } catch {
    throw new SyncError("validation", ErrorCodes.BadRequest, `run ${run.runId} has no valid startedAt`);
  }
}

function strip(run: RunRecord): RunRecord {
  const { etag: _etag, ...rest } = run;
  return rest;
}

function toEntity(run: RunRecord) {
  const record = strip(run);
  return {
    partitionKey: RUN_PARTITION,
    rowKey: encodeKey(run.runId),
    mapping: run.mapping,
    status: run.status,
    startedAt: run.startedAt,
    ...writeJson("data", record, `run ${run.runId}`),
  };
}

function toRun(row: Row): RunRecord {
  const run = readJson<RunRecord>(row, "data");
  if (!run) throw new SyncError("permanent", ErrorCodes.BadRequest, `run entity ${row.rowKey} has no data`);
  return { ...run, etag: row.etag };
}
