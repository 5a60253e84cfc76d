import type { TableConnectionOptions } from "../state/tableClients.js";
import { TableBudgetStore } from "./tableBudgetStore.js";
import { ThrottleBudget } from "./throttleBudget.js";

/** Dataverse service protection per user: 6,000 requests per 300 s (dataverse-web-api.md §6). */
export const DataverseRequestLimit = { maxRequests: 6_000, windowMs: 300_000 } as const;

/**
 * The budget every function instance of a deployment shares for one Dataverse identity: a row in
 * `<prefix>throttlebudget` in the app's own storage account.
 */
export async function createDataverseBudget(storage: TableConnectionOptions, identity: string, options: { tablePrefix?: string; maxRequests?: number; windowMs?: number } = {}): Promise<ThrottleBudget> {
  const store = new TableBudgetStore({ ...storage, tableName: `${options.tablePrefix ?? ""}throttlebudget` });
  await store.ensure();
  return new ThrottleBudget({
    store, identity,
    maxRequests: options.maxRequests ?? DataverseRequestLimit.maxRequests,
    windowMs: options.windowMs ?? DataverseRequestLimit.windowMs,
    // Larger leases at the real limit: one Table round trip per 25 requests, at most 240 per window.
    leaseSize: 25,
  });
}
