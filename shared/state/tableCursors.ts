import type { TableClient } from "@azure/data-tables";
import type { Cursor, Side } from "../ports.js";
import { encodeKey } from "./keys.js";
import { readChunked, writeChunked } from "./jsonColumn.js";
import { concurrencyError, statusOf, translateStorageError } from "./tableErrors.js";
import { deleteIfExists, getOrNull, requireEtag, type Row } from "./tableSupport.js";

/** Cursors: PK mapping, RK side. Delta links can be long, so the value is a chunked column. */
export class TableCursors {
  constructor(private readonly client: TableClient) {}

  async get(mapping: string, side: Side): Promise<Cursor | null> {
    const row = await getOrNull(this.client, encodeKey(mapping), side, "read cursor");
    return row ? toCursor(row, mapping, side) : null;
  }

  async put(cursor: Cursor): Promise<Cursor> {
    const entity = {
      partitionKey: encodeKey(cursor.mapping),
      rowKey: cursor.side,
      takenAt: cursor.takenAt,
      ...writeChunked("value", cursor.value, `cursor ${cursor.mapping}/${cursor.side}`),
    };
    try {
      const res = cursor.etag
        ? await this.client.updateEntity(entity, "Replace", { etag: cursor.etag })
        : await this.client.upsertEntity(entity, "Replace");
      return { mapping: cursor.mapping, side: cursor.side, value: cursor.value, takenAt: cursor.takenAt, etag: requireEtag(res.etag, "write cursor") };
    } catch (e) {
      // With an etag, "gone" is as stale as "changed": someone else moved the cursor.
      if (cursor.etag && (statusOf(e) === 412 || statusOf(e) === 404)) throw concurrencyError(`cursor ${cursor.mapping}/${cursor.side}`, e);
      throw translateStorageError(e, "write cursor");
    }
  }

  async delete(mapping: string, side: Side): Promise<void> {
    await deleteIfExists(this.client, encodeKey(mapping), side, "delete cursor");
  }
}

function toCursor(row: Row, mapping: string, side: Side): Cursor {
  return { mapping, side, value: readChunked(row, "value") ?? "", takenAt: String(row.takenAt ?? ""), etag: row.etag };
}
