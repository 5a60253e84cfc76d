import { odata, type TableClient } from "@azure/data-tables";
import type { ConflictRecord } from "../ports.js";
import { encodeKey } from "./keys.js";
import { readJson, writeJson } from "./jsonColumn.js";
import { translateStorageError } from "./tableErrors.js";
import { wrap, type Row } from "./tableSupport.js";

/** Conflicts for manual review: PK mapping, RK id; `status` is a column so it can be filtered on. */
export class TableConflicts {
  constructor(private readonly client: TableClient) {}

  async put(conflict: ConflictRecord): Promise<void> {
    await wrap("write conflict", () => this.client.upsertEntity({
      partitionKey: encodeKey(conflict.mapping),
      rowKey: encodeKey(conflict.id),
      status: conflict.status,
      appId: conflict.appId,
      dataverseId: conflict.dataverseId,
      detectedAt: conflict.detectedAt,
      ...writeJson("data", conflict, `conflict ${conflict.id}`),
    }, "Replace"));
  }

  async list(options: { mapping?: string; status?: "open" | "resolved" } = {}): Promise<ConflictRecord[]> {
    const clauses: string[] = [];
    if (options.mapping !== undefined) clauses.push(odata`PartitionKey eq ${encodeKey(options.mapping)}`);
    if (options.status !== undefined) clauses.push(odata`status eq ${options.status}`);
    const out: ConflictRecord[] = [];
    try {
      const rows = this.client.listEntities<Record<string, unknown>>({ queryOptions: clauses.length ? { filter: clauses.join(" and ") } : {} });
      for await (const row of rows) out.push(toConflict(row));
    } catch (e) {
      throw translateStorageError(e, "list conflicts");
    }
    return out;
  }
}

function toConflict(row: Row): ConflictRecord {
  return readJson<ConflictRecord>(row, "data") as ConflictRecord;
}
