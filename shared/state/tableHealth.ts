import type { TableClient } from "@azure/data-tables";
import type { DirectionKey, HealthRecord, RunStatus } from "../ports.js";
import { encodeKey } from "./keys.js";
import { retryOnConcurrency, type CasRetryOptions } from "./casRetry.js";
import { concurrencyError, statusOf, translateStorageError } from "./tableErrors.js";
import { defined, getOrNull, optionalString, requireEtag, type Row } from "./tableSupport.js";

/** Health: PK mapping, RK direction; plain columns so the portal's table browser shows them. */
export class TableHealth {
  constructor(private readonly client: TableClient, private readonly retry: CasRetryOptions = {}) {}

  async get(mapping: string, direction: DirectionKey): Promise<HealthRecord | null> {
    const row = await getOrNull(this.client, encodeKey(mapping), direction, "read health");
    return row ? toHealth(row, mapping, direction) : null;
  }

  /** Read-modify-write; the first update creates the record (a lost create race is retried). */
  async update(mapping: string, direction: DirectionKey, mutate: (h: HealthRecord) => HealthRecord): Promise<HealthRecord> {
    const what = `health ${mapping}/${direction}`;
    return retryOnConcurrency(what, async () => {
      const current = await this.get(mapping, direction);
      const base: HealthRecord = current ?? { mapping, direction, consecutiveFailures: 0 };
      const { etag: _etag, ...next } = { ...mutate(structuredClone(base)), mapping, direction };
      const entity = {
        partitionKey: encodeKey(mapping),
        rowKey: direction,
        ...defined({ lastSuccessAt: next.lastSuccessAt, lastRunAt: next.lastRunAt, lastRunId: next.lastRunId, lastRunStatus: next.lastRunStatus }),
        consecutiveFailures: next.consecutiveFailures,
      };
      try {
        const res = current
          ? await this.client.updateEntity(entity, "Replace", { etag: current.etag })
          : await this.client.createEntity(entity);
        return { ...(defined(next) as unknown as HealthRecord), etag: requireEtag(res.etag, "write health") };
      } catch (e) {
        if (statusOf(e) === 412 || statusOf(e) === 409 || statusOf(e) === 404) throw concurrencyError(what, e);
        throw translateStorageError(e, `write ${what}`);
      }
    }, this.retry);
  }
}

function toHealth(row: Row, mapping: string, direction: DirectionKey): HealthRecord {
  return {
    mapping,
    direction,
    ...defined({
      lastSuccessAt: optionalString(row.lastSuccessAt),
      lastRunAt: optionalString(row.lastRunAt),
      lastRunId: optionalString(row.lastRunId),
      lastRunStatus: optionalString(row.lastRunStatus) as RunStatus | undefined,
    }),
    consecutiveFailures: Number(row.consecutiveFailures ?? 0),
    etag: row.etag,
  };
}
