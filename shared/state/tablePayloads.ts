import { odata, type TableClient } from "@azure/data-tables";
import type { PayloadStore } from "../ports.js";
import { readChunked, writeChunked } from "./jsonColumn.js";
import { encodeKey } from "./keys.js";
import { partKey, splitPayload } from "./payloadParts.js";
import { deleteIfExists, getOrNull, wrap } from "./tableSupport.js";

/**
 * Out-of-band payloads: PK the payload id, RK the part number, the part's text as chunked string
 * columns; part 0 also holds how many parts there are. Part 0 is written last and deleted first,
 * so a reader that finds it finds the whole payload, and one that does not finds none.
 */
export class TablePayloads implements PayloadStore {
  constructor(private readonly client: TableClient) {}

  async putPayload(id: string, text: string): Promise<void> {
    const parts = splitPayload(id, text);
    const pk = encodeKey(id);
    const what = `payload ${id}`;
    await Promise.all(parts.slice(1).map((part, i) =>
      wrap("write payload", () => this.client.upsertEntity({ partitionKey: pk, rowKey: partKey(i + 1), ...writeChunked("text", part, what) }, "Replace"))));
    await wrap("write payload", () => this.client.upsertEntity({ partitionKey: pk, rowKey: partKey(0), parts: parts.length, ...writeChunked("text", parts[0], what) }, "Replace"));
  }

  async getPayload(id: string): Promise<string | null> {
    const pk = encodeKey(id);
    const first = await getOrNull(this.client, pk, partKey(0), "read payload");
    if (!first) return null;
    const count = Number(first.parts ?? 1);
    const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => getOrNull(this.client, pk, partKey(i + 1), "read payload")));
    // A part gone while part 0 is there: a delete is under way, so the payload counts as gone.
    if (rest.some((row) => row === null)) return null;
    return [first, ...rest].map((row) => readChunked(row!, "text") ?? "").join("");
  }

  async deletePayload(id: string): Promise<void> {
    const pk = encodeKey(id);
    // Every row of the partition, not just part 0's count: a payload rewritten shorter leaves none behind.
    const keys = await wrap("delete payload", async () => {
      const out: string[] = [];
      for await (const row of this.client.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${pk}`, select: ["RowKey"] } })) out.push(String(row.rowKey));
      return out.sort();
    });
    if (!keys.length) return;
    await deleteIfExists(this.client, pk, keys[0], "delete payload");
    await Promise.all(keys.slice(1).map((rowKey) => deleteIfExists(this.client, pk, rowKey, "delete payload")));
  }
}
