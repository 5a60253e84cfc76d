import type { TableConnectionOptions } from "../state/tableClients.js";
import { Tables } from "../names.js";
import type { Clock } from "../ports.js";
import { MemoryBudgetStore } from "./budgetStore.js";
import { TableBudgetStore } from "./tableBudgetStore.js";
import { ThrottleBudget } from "./throttleBudget.js";

/** Dataverse service protection per user: 6,000 requests and 1,200 s of execution per 300 s (dataverse-web-api.md §6). */
export const DataverseRequestLimit = { maxRequests: 6_000, maxExecutionMs: 1_200_000, windowMs: 300_000 } as const;

/**
 * The budget every function instance of a deployment shares for one Dataverse identity: a row in
 * `<prefix>SyncThrottle` in the app's own storage account.
 */
export async function createDataverseBudget(storage: TableConnectionOptions, identity: string, options: { tablePrefix?: string; maxRequests?: number; maxExecutionMs?: number; windowMs?: number } = {}): Promise<ThrottleBudget> {
  const store = new TableBudgetStore({ ...storage, tableName: `${options.tablePrefix ?? ""}${Tables.throttle}` });
  await store.ensure();
  return new ThrottleBudget({
    store, identity,
    maxRequests: options.maxRequests ?? DataverseRequestLimit.maxRequests,
    maxExecutionMs: options.maxExecutionMs ?? DataverseRequestLimit.maxExecutionMs,
    windowMs: options.windowMs ?? DataverseRequestLimit.windowMs,
    // Larger leases at the real limit: one Table round trip per 25 requests, at most 240 per window.
    leaseSize: 25,
  });
}

/**
 * The same budget for one process only (`npm run sync`, tests): both limits are kept, and a 429's
 * Retry-After holds back every request of the process, not just the one that was throttled.
 */
export function createLocalDataverseBudget(identity: string, clock?: Clock): ThrottleBudget {
  return new ThrottleBudget({ store: new MemoryBudgetStore(), identity, ...DataverseRequestLimit, leaseSize: 25, clock });
}
