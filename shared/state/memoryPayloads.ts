import type { PayloadStore } from "../ports.js";
import { encodeKey } from "./keys.js";
import { MemoryTable } from "./memoryTable.js";
import { partKey, splitPayload } from "./payloadParts.js";

/**
 * The in-memory twin of TablePayloads: the same keys, parts and size limits, so both adapters
 * accept and refuse the same payloads (test/integration/state/payloadStore.contract.ts).
 */
export class MemoryPayloads implements PayloadStore {
  private readonly rows = new MemoryTable<{ text: string; parts?: number }>();

  async putPayload(id: string, text: string): Promise<void> {
    const parts = splitPayload(id, text);
    const pk = encodeKey(id);
    parts.forEach((part, i) => { if (i > 0) this.rows.put(pk, partKey(i), { text: part }); });
    this.rows.put(pk, partKey(0), { text: parts[0], parts: parts.length });
  }

  async getPayload(id: string): Promise<string | null> {
    const pk = encodeKey(id);
    const first = this.rows.get(pk, partKey(0))?.value;
    if (!first) return null;
    const rest = Array.from({ length: (first.parts ?? 1) - 1 }, (_, i) => this.rows.get(pk, partKey(i + 1))?.value);
    if (rest.some((row) => !row)) return null;
    return [first, ...rest].map((row) => row!.text).join("");
  }

  async deletePayload(id: string): Promise<void> {
    const pk = encodeKey(id);
    for (const row of this.rows.list((p) => p === pk)) this.rows.delete(pk, row.rowKey);
  }
}
