import { ErrorCodes, SyncError } from "../errors.js";
import type { FeedLimits } from "../http/feedGuard.js";
import type { HttpResponse } from "../http/httpClient.js";
import type { BulkResult, BulkWrite, ChangePage, DataverseClient, DataverseRow, KeyValues, WhoAmI } from "../ports.js";
import { BulkSizer } from "./bulkSizer.js";
import { DataverseTransport, type DataverseStats, type DataverseTransportOptions } from "./dataverseTransport.js";
import { checkName, idFromEntityUrl, idPath, keyPath, queryString } from "./odataUrl.js";
import { queryPages, readChangePages, type QueryOptions } from "./readers.js";
import { ifMatchProblem, unexpectedWriteAnswer, writeMany, type WriteManyOptions } from "./writeMany.js";

export interface DataverseClientOptions extends DataverseTransportOptions {
  /** Records per bulk message or `$batch` (default 500, at most 1,000; halves on timeouts down to 10). */
  bulkSize?: number;
  /** Timeout of one bulk or `$batch` call (default 4 × timeoutMs, at least 120 s). */
  bulkTimeoutMs?: number;
  /** Bounds of one read of change tracking or a query (the mapping file's options.feeds). */
  feedLimits?: FeedLimits;
  /**
   * Write messages this process works on at once (the host's queue lanes). Given, a write's bulk
   * chunk goes out as several calls at once when the servers the budget learned execute more calls
   * at once than the lanes hold (writeMany.ts). Absent: one call per chunk.
   */
  lanes?: number;
}

export interface DataverseClientExtras extends DataverseClient {
  writeMany(entitySet: string, table: string, writes: BulkWrite[], options?: WriteManyOptions): Promise<BulkResult[]>;
  /** Requests sent, 429s received, time waited before retries, current concurrency. */
  stats(): DataverseStats;
  /** Current bulk chunk size (adaptive). */
  bulkSize(): number;
  /** The service root, `<instance>/api/data/v9.2/`. */
  readonly serviceRoot: string;
}

export const DEFAULT_BULK_SIZE = 500;

/** The Dataverse Web API client behind the `DataverseClient` port. */
export function createDataverseClient(options: DataverseClientOptions): DataverseClientExtras {
  const t = new DataverseTransport(options);
  // Dataverse recommends 100-1,000 records per bulk request for standard tables; timeouts halve it.
  const sizer = new BulkSizer(options.bulkSize ?? DEFAULT_BULK_SIZE, 10);
  const bulkTimeoutMs = options.bulkTimeoutMs ?? Math.max(120_000, 4 * (options.bounds?.firstByteTimeoutMs ?? options.timeoutMs ?? 30_000));
  const json = (body: Record<string, unknown>) => JSON.stringify(body);
  const select = (cols?: string[]) => queryString({ $select: cols?.length ? cols.map((c) => checkName(c, "column")).join(",") : undefined });

  /** The row version passes through as given (`W/"123"`); Dataverse compares it with the row's. */
  function ifMatchHeader(entitySet: string, id: string, ifMatch: string): Record<string, string> {
    const problem = ifMatchProblem(ifMatch);
    if (problem) throw new SyncError("validation", ErrorCodes.BadRequest, `${entitySet}(${id}): ${problem}`);
    return { "If-Match": ifMatch };
  }

  /** A single write counts as done only with its documented answer (writeMany.ts unexpectedWriteAnswer). */
  function written(res: HttpResponse, what: string): HttpResponse {
    const problem = unexpectedWriteAnswer(res);
    if (problem) throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: Dataverse answered ${what} with ${problem}; the write is not counted as done`, { status: res.status });
    return res;
  }

  async function getOrNull(path: string): Promise<DataverseRow | null> {
    const res = await t.send({ method: "GET", path }, { accept: [404] });
    return res.status === 404 ? null : res.json<DataverseRow>();
  }

  return {
    serviceRoot: t.serviceRoot,

    async whoAmI(): Promise<WhoAmI> {
      const res = await t.send({ method: "GET", path: "WhoAmI" });
      const body = res.json<Partial<WhoAmI>>();
      if (!body.UserId) throw new SyncError("permanent", ErrorCodes.BadRequest, "WhoAmI returned no UserId");
      return { UserId: body.UserId, BusinessUnitId: body.BusinessUnitId ?? "", OrganizationId: body.OrganizationId ?? "" };
    },

    readChanges(entitySet: string, opts: { select: string[]; deltaLink?: string; pageSize?: number }): AsyncIterable<ChangePage> {
      return readChangePages(t, entitySet, { ...opts, feedLimits: options.feedLimits });
    },

    retrieve(entitySet: string, id: string, cols?: string[]): Promise<DataverseRow | null> {
      return getOrNull(idPath(entitySet, id) + select(cols));
    },

    retrieveByKey(entitySet: string, key: KeyValues, cols?: string[]): Promise<DataverseRow | null> {
      return getOrNull(keyPath(entitySet, key) + select(cols));
    },

    query(entitySet: string, opts: QueryOptions): AsyncIterable<DataverseRow[]> {
      return queryPages(t, entitySet, { ...opts, feedLimits: options.feedLimits });
    },

    async create(entitySet: string, body: Record<string, unknown>): Promise<string> {
      const res = written(await t.send({ method: "POST", path: checkName(entitySet, "entity set"), body: json(body) }), `the create in ${entitySet}`);
      const id = idFromEntityUrl(res.headers.get("odata-entityid"));
      if (!id) throw new SyncError("permanent", ErrorCodes.BadRequest, `Create in ${entitySet} returned no OData-EntityId`);
      return id;
    },

    async update(entitySet: string, id: string, body: Record<string, unknown>, opts?: { ifMatch?: string }): Promise<void> {
      written(await t.send({ method: "PATCH", path: idPath(entitySet, id), headers: ifMatchHeader(entitySet, id, opts?.ifMatch ?? "*"), body: json(body) }), `the update of ${entitySet}(${id})`);
    },

    async upsertByKey(entitySet: string, key: KeyValues, body: Record<string, unknown>): Promise<string | undefined> {
      // Without If-Match this PATCH creates or updates; the echoed OData-EntityId is usually the key URL.
      const res = written(await t.send({ method: "PATCH", path: keyPath(entitySet, key), body: json(body) }), `the upsert in ${entitySet}`);
      return idFromEntityUrl(res.headers.get("odata-entityid"));
    },

    async delete(entitySet: string, id: string, opts?: { ifMatch?: string }): Promise<void> {
      written(await t.send({ method: "DELETE", path: idPath(entitySet, id), headers: opts?.ifMatch !== undefined ? ifMatchHeader(entitySet, id, opts.ifMatch) : undefined }), `the delete of ${entitySet}(${id})`);
    },

    writeMany(entitySet: string, table: string, writes: BulkWrite[], opts: WriteManyOptions = {}): Promise<BulkResult[]> {
      return writeMany(t, sizer, entitySet, table, writes, { ...opts, bulkTimeoutMs, lanes: options.lanes });
    },

    stats: () => t.stats(),
    bulkSize: () => sizer.size,
  };
}
