import type { ExpiryEntry, ExpiryIndex } from "../sync/expiryRules.js";
import { expiryRowKey } from "./tableExpiryIndex.js";

/** The expiry index in memory, with the Table adapter's ordering (the same encoded row keys). */
export class MemoryExpiryIndex implements ExpiryIndex {
  private readonly rows = new Map<string, Map<string, ExpiryEntry>>();
  private readonly builtMappings = new Set<string>();

  async put(entries: readonly ExpiryEntry[]): Promise<void> {
    for (const e of entries) {
      const rows = this.rows.get(e.mapping) ?? new Map<string, ExpiryEntry>();
      rows.set(expiryRowKey(e), { ...e });
      this.rows.set(e.mapping, rows);
    }
  }

  async remove(entries: readonly ExpiryEntry[]): Promise<void> {
    for (const e of entries) this.rows.get(e.mapping)?.delete(expiryRowKey(e));
  }

  async due(mapping: string, whenField: string, before: string, limit: number): Promise<ExpiryEntry[]> {
    const lo = expiryRowKey({ whenField, when: "", appId: "" }).slice(0, -1);
    const hi = expiryRowKey({ whenField, when: before, appId: "" }).slice(0, -1);
    return [...(this.rows.get(mapping) ?? new Map<string, ExpiryEntry>()).entries()]
      .filter(([key]) => key >= lo && key < hi)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([, e]) => ({ ...e }));
  }

  async built(mapping: string): Promise<boolean> {
    return this.builtMappings.has(mapping);
  }

  async markBuilt(mapping: string): Promise<void> {
    this.builtMappings.add(mapping);
  }
}
