import { odata, type TableClient } from "@azure/data-tables";
import type { DeadLetter } from "../ports.js";
import { encodeKey, RESERVED_PREFIX } from "./keys.js";
import { readJson, writeJson } from "./jsonColumn.js";
import { translateStorageError } from "./tableErrors.js";
import { deleteIfExists, getOrNull, optionalString, wrap, type Row } from "./tableSupport.js";

/** Pointers id -> mapping, so get/delete by id alone are point reads, not scans. */
const BY_ID = "~id";

/**
 * Dead letters: PK mapping, RK id; the record (payload included) as a size-guarded JSON column,
 * with direction/code/recordId as plain columns for the portal. The pointer is written first, so
 * a crash in between leaves a pointer to nothing, which reads as "not found".
 */
export class TableDeadLetters {
  constructor(private readonly client: TableClient) {}

  async put(dl: DeadLetter): Promise<void> {
    const entity = {
      partitionKey: encodeKey(dl.mapping),
      rowKey: encodeKey(dl.id),
      direction: dl.direction,
      code: dl.code,
      recordId: dl.recordId,
      lastFailedAt: dl.lastFailedAt,
      ...writeJson("data", dl, `dead letter ${dl.id}`),
    };
    const previous = await this.mappingOf(dl.id);
    await wrap("write dead letter", () => this.client.upsertEntity({ partitionKey: BY_ID, rowKey: encodeKey(dl.id), mapping: dl.mapping }, "Replace"));
    await wrap("write dead letter", () => this.client.upsertEntity(entity, "Replace"));
    // The same id re-filed under another mapping must not linger in the old partition.
    if (previous !== undefined && previous !== dl.mapping) {
      await deleteIfExists(this.client, encodeKey(previous), encodeKey(dl.id), "move dead letter");
    }
  }

  async get(id: string): Promise<DeadLetter | null> {
    const mapping = await this.mappingOf(id);
    if (mapping === undefined) return null;
    const row = await getOrNull(this.client, encodeKey(mapping), encodeKey(id), "read dead letter");
    return row ? toDeadLetter(row) : null;
  }

  async list(options: { mapping?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return out;
    try {
      const pages = this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: filterFor(options.mapping) } })
        .byPage({ maxPageSize: Math.min(limit, 1000) });
      for await (const page of pages) {
        for (const row of page) if (out.length < limit) out.push(toDeadLetter(row));
        if (out.length >= limit) break;
      }
    } catch (e) {
      throw translateStorageError(e, "list dead letters");
    }
    return out;
  }

  async delete(id: string): Promise<void> {
    const mapping = await this.mappingOf(id);
    if (mapping !== undefined) await deleteIfExists(this.client, encodeKey(mapping), encodeKey(id), "delete dead letter");
    await deleteIfExists(this.client, BY_ID, encodeKey(id), "delete dead letter");
  }

  async count(mapping?: string): Promise<number> {
    return wrap("count dead letters", async () => {
      let n = 0;
      const pages = this.client.listEntities({ queryOptions: { filter: filterFor(mapping), select: ["RowKey"] } }).byPage({ maxPageSize: 1000 });
      for await (const page of pages) n += page.length;
      return n;
    });
  }

  private async mappingOf(id: string): Promise<string | undefined> {
    const pointer = await getOrNull(this.client, BY_ID, encodeKey(id), "read dead letter");
    return optionalString(pointer?.mapping);
  }
}

function filterFor(mapping: string | undefined): string {
  return mapping === undefined ? odata`PartitionKey lt ${RESERVED_PREFIX}` : odata`PartitionKey eq ${encodeKey(mapping)}`;
}

function toDeadLetter(row: Row): DeadLetter {
  return readJson<DeadLetter>(row, "data") as DeadLetter;
}
