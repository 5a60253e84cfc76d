import { Tables } from "../names.js";
import type { TableClient } from "@azure/data-tables";
import { statusOf, translateStorageError } from "../state/tableErrors.js";
import { tableClientFactory, type TableConnectionOptions } from "../state/tableClients.js";
import { emptyBudgetRow, type BudgetRow, type Grant, type BudgetSnapshot, type BudgetStore, type SeenServer, type ServerDecision } from "./budgetStore.js";

const ROW_KEY = "budget";

export interface TableBudgetStoreOptions extends TableConnectionOptions {
  /** Table name (letters and digits); default `SyncThrottle` (shared/names.ts). */
  tableName?: string;
}

/**
 * The budget row in Table Storage. Identities are hashed by the caller into safe keys; the
 * conditional update (If-Match) is what keeps concurrent processes from over-granting.
 */
export class TableBudgetStore implements BudgetStore {
  private readonly client: TableClient;

  constructor(options: TableBudgetStoreOptions) {
    this.client = tableClientFactory(options)(options.tableName ?? Tables.throttle);
  }

  async ensure(): Promise<void> {
    try {
      await this.client.createTable();
    } catch (e) {
      if (statusOf(e) !== 409) throw translateStorageError(e, "create the throttle budget table");
    }
  }

  async read(identity: string): Promise<BudgetSnapshot> {
    try {
      const e = await this.client.getEntity<Record<string, unknown>>(identity, ROW_KEY);
      const servers = parseServers(e.servers);
      const seen = parseSeen(e.seen);
      return { row: { grants: parseGrants(e.grants), blockedUntil: Number(e.blockedUntil) || 0, ...(servers ? { servers } : {}), ...(seen.length ? { seen } : {}) }, etag: e.etag };
    } catch (e) {
      if (statusOf(e) === 404) return { row: emptyBudgetRow() };
      throw translateStorageError(e, "read the throttle budget");
    }
  }

  async write(identity: string, row: BudgetRow, etag: string | undefined): Promise<boolean> {
    // Numbers go as strings: Table Storage's Int32 would overflow on epoch milliseconds.
    const entity = {
      partitionKey: identity, rowKey: ROW_KEY, grants: JSON.stringify(row.grants), blockedUntil: String(row.blockedUntil),
      ...(row.servers ? { servers: JSON.stringify([row.servers.count, row.servers.at]) } : {}),
      ...(row.seen?.length ? { seen: JSON.stringify(row.seen) } : {}),
    };
    try {
      if (etag === undefined) await this.client.createEntity(entity);
      else await this.client.updateEntity(entity, "Replace", { etag });
      return true;
    } catch (e) {
      const status = statusOf(e);
      if (status === 409 || status === 412) return false;
      throw translateStorageError(e, "update the throttle budget");
    }
  }
}

/**
 * A damaged or foreign value reads as "no grants": the worst case is one window of 429s, never a
 * crash. Rows written before execution time was metered have [at, requests]: they cost no time.
 */
function parseGrants(value: unknown): Grant[] {
  try {
    const parsed: unknown = JSON.parse(String(value ?? "[]"));
    if (!Array.isArray(parsed)) return [];
    return parsed
      .filter((g): g is number[] => Array.isArray(g) && (g.length === 2 || g.length === 3) && g.every((n) => typeof n === "number" && Number.isFinite(n)))
      .map(([at, n, ms]): Grant => [at, n, ms ?? 0]);
  } catch {
    return [];
  }
}

/** `[count, at]`; anything else reads as no decision (the process learns on its own). */
function parseServers(value: unknown): ServerDecision | undefined {
  try {
    const parsed: unknown = JSON.parse(String(value ?? "null"));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [count, at] = parsed as unknown[];
    return typeof count === "number" && Number.isInteger(count) && count >= 1 && typeof at === "number" && Number.isFinite(at) ? { count, at } : undefined;
  } catch {
    return undefined;
  }
}

/** `[[server, at], …]`; entries of any other shape are dropped (the process counts only what it saw). */
function parseSeen(value: unknown): SeenServer[] {
  try {
    const parsed: unknown = JSON.parse(String(value ?? "[]"));
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((s): s is SeenServer => Array.isArray(s) && s.length === 2 && typeof s[0] === "string" && s[0].length > 0 && typeof s[1] === "number" && Number.isFinite(s[1]));
  } catch {
    return [];
  }
}

export { emptyBudgetRow };
