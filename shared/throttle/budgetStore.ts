/**
 * Where the per-identity throttle budget lives. One row per identity: every process that talks
 * to Dataverse as that identity reads and updates it with optimistic concurrency (ETags), so N
 * function instances share one budget instead of each assuming it has the whole limit.
 */
export type Grant = [at: number, requests: number, executionMs: number];

export interface BudgetRow {
  /**
   * Leases granted in the last window by all processes together: [real-time ms, requests,
   * execution ms]. Negative amounts are give-backs (unused leases, requests that cost less than
   * reserved) dated like the lease they correct, so they leave the window together with it.
   */
  grants: Grant[];
  /** Real-time ms before which nobody may send: the latest 429's Retry-After. */
  blockedUntil: number;
  /**
   * The latest decision on how many web servers' limits the identity may use, by whichever process
   * made it (learned from answers, or a step down for a 429) and when: every process adopts a newer
   * one, so the processes sharing the budget also share what their answers showed.
   */
  servers?: ServerDecision;
  /**
   * The web servers that answered the identity lately, by whichever process: [a short hash of the
   * answer's ARRAffinity value, real-time ms of its last answer]. A process counts the servers the
   * others reached as well as its own, so it need not wait to see each of them itself.
   */
  seen?: SeenServer[];
}

export type SeenServer = [server: string, at: number];

export interface ServerDecision {
  count: number;
  at: number;
}

export interface BudgetSnapshot {
  row: BudgetRow;
  /** Opaque version for the conditional write; undefined when the row does not exist yet. */
  etag?: string;
}

export interface BudgetStore {
  read(identity: string): Promise<BudgetSnapshot>;
  /** false when someone else wrote first (the caller re-reads and tries again). */
  write(identity: string, row: BudgetRow, etag: string | undefined): Promise<boolean>;
}

export const emptyBudgetRow = (): BudgetRow => ({ grants: [], blockedUntil: 0 });

const copy = (row: BudgetRow): BudgetRow => ({
  grants: row.grants.map(([at, n, ms]): Grant => [at, n, ms]),
  blockedUntil: row.blockedUntil,
  ...(row.servers ? { servers: { ...row.servers } } : {}),
  ...(row.seen ? { seen: row.seen.map(([server, at]): SeenServer => [server, at]) } : {}),
});

/** One process (tests, `npm run sync`): the same protocol over a Map. */
export class MemoryBudgetStore implements BudgetStore {
  private readonly rows = new Map<string, { row: BudgetRow; version: number }>();

  async read(identity: string): Promise<BudgetSnapshot> {
    const found = this.rows.get(identity);
    return found ? { row: copy(found.row), etag: String(found.version) } : { row: emptyBudgetRow() };
  }

  async write(identity: string, row: BudgetRow, etag: string | undefined): Promise<boolean> {
    const found = this.rows.get(identity);
    if ((found ? String(found.version) : undefined) !== etag) return false;
    this.rows.set(identity, { row: copy(row), version: (found?.version ?? 0) + 1 });
    return true;
  }
}
