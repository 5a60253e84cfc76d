import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import type { ExpiryEntry, ExpiryIndex } from "../sync/expiryRules.js";
import { encodeKey, decodeKey } from "./keys.js";
import { deleteIfExists, getOrNull, wrap } from "./tableSupport.js";
import { assertTablePrefix, tableClientFactory, type TableConnectionOptions } from "./tableClients.js";
import { Tables } from "../names.js";

/** Entity-group transactions hold at most 100 operations, all in one partition. */
const TRANSACTION_SIZE = 100;
const BUILT = "~built";

/** RowKey: `<date field>|<date>|<app id>`, each encoded: a range of rows is a range of dates. */
export function expiryRowKey(e: Pick<ExpiryEntry, "whenField" | "when" | "appId">): string {
  return `${encodeKey(e.whenField)}|${encodeKey(e.when)}|${encodeKey(e.appId)}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The expiry index in Table Storage: PK the mapping, RK date field, date and app id. A due query is
 * one range scan of a partition (`RowKey ge '<field>|' and RowKey lt '<field>|<bound>'`), so a run
 * reads the entries whose date has passed and nothing else. Writes go in transactions of 100.
 */
export class TableExpiryIndex implements ExpiryIndex {
  constructor(private readonly client: TableClient) {}

  async put(entries: readonly ExpiryEntry[]): Promise<void> {
    await this.submit(entries, (e) => ["upsert", { partitionKey: encodeKey(e.mapping), rowKey: expiryRowKey(e), dataverseId: e.dataverseId }, "Replace"], "index expiries");
  }

  async remove(entries: readonly ExpiryEntry[]): Promise<void> {
    for (const e of entries) await deleteIfExists(this.client, encodeKey(e.mapping), expiryRowKey(e), "drop an expiry");
  }

  async due(mapping: string, whenField: string, before: string, limit: number): Promise<ExpiryEntry[]> {
    const field = encodeKey(whenField);
    const filter = odata`PartitionKey eq ${encodeKey(mapping)} and RowKey ge ${`${field}|`} and RowKey lt ${`${field}|${encodeKey(before)}`}`;
    return wrap("read due expiries", async () => {
      const out: ExpiryEntry[] = [];
      for await (const row of this.client.listEntities<{ dataverseId: string }>({ queryOptions: { filter, select: ["RowKey", "dataverseId"] } })) {
        const [, when, appId] = row.rowKey!.split("|");
        out.push({ mapping, whenField, when: decodeKey(when), appId: decodeKey(appId), dataverseId: row.dataverseId });
        if (out.length >= limit) break;
      }
      return out;
    });
  }

  async built(mapping: string): Promise<boolean> {
    return (await getOrNull(this.client, encodeKey(mapping), BUILT, "read the expiry index state")) !== null;
  }

  async markBuilt(mapping: string): Promise<void> {
    await wrap("mark the expiry index built", () => this.client.upsertEntity({ partitionKey: encodeKey(mapping), rowKey: BUILT }, "Replace"));
  }

  private async submit(entries: readonly ExpiryEntry[], action: (e: ExpiryEntry) => TransactionAction, operation: string): Promise<void> {
    const byPartition = new Map<string, ExpiryEntry[]>();
    for (const e of entries) byPartition.set(e.mapping, [...(byPartition.get(e.mapping) ?? []), e]);
    for (const group of byPartition.values()) {
      // One transaction may not touch a row twice: the last entry for a row wins.
      const unique = [...new Map(group.map((e) => [expiryRowKey(e), e])).values()];
      for (const chunk of chunks(unique, TRANSACTION_SIZE)) await wrap(operation, () => this.client.submitTransaction(chunk.map(action)));
    }
  }
}

/** The index's table (`<prefix>SyncExpiry`), created when missing. */
export async function createTableExpiryIndex(options: TableConnectionOptions, tablePrefix = ""): Promise<TableExpiryIndex> {
  assertTablePrefix(tablePrefix);
  const client = tableClientFactory(options)(tablePrefix + Tables.expiry);
  await wrap("create the expiry table", () => client.createTable());
  return new TableExpiryIndex(client);
}
