import { ErrorCodes, SyncError } from "../errors.js";
import type { ConflictRecord, Cursor, DeadLetter, DirectionKey, HealthRecord, Link, LinkDigest, RunRecord, Side, SyncStateStore } from "../ports.js";
import { encodeKey, linkAppRowKey, linkDataverseRowKey, RESERVED_PREFIX, runIndexRowKey } from "./keys.js";
import { guardLength, toGuardedJson } from "./jsonColumn.js";
import { concurrencyError } from "./tableErrors.js";
import { MemoryTable } from "./memoryTable.js";
import { MemoryPayloads } from "./memoryPayloads.js";

type Stored<T> = Omit<T, "etag">;
const ALL_RUNS = "~idx";
const runsOf = (mapping: string): string => `~idx|${encodeKey(mapping)}`;
const DEAD_LETTER_IDS = "~id";

/**
 * The in-memory SyncStateStore: the same keys, ETag compare-and-set, size limits and ordering as
 * the Table Storage adapter (both pass test/integration/state/stateStore.contract.ts). Single
 * threaded, so read-modify-write never actually loses a race here.
 */
export class MemoryStateStore implements SyncStateStore {
  private readonly cursors = new MemoryTable<Stored<Cursor>>();
  private readonly links = new MemoryTable<Stored<Link> | { appId: string }>();
  private readonly runs = new MemoryTable<Stored<RunRecord> | { runId: string }>();
  private readonly health = new MemoryTable<Stored<HealthRecord>>();
  private readonly deadLetters = new MemoryTable<DeadLetter | { mapping: string }>();
  private readonly conflicts = new MemoryTable<ConflictRecord>();
  /** Out-of-band write payloads (shared/ports.ts PayloadStore). */
  readonly payloads = new MemoryPayloads();

  async ensureTables(): Promise<void> {}

  async getCursor(mapping: string, side: Side): Promise<Cursor | null> {
    const row = this.cursors.get(encodeKey(mapping), side);
    return row ? { ...row.value, etag: row.etag } : null;
  }

  async putCursor(cursor: Cursor): Promise<Cursor> {
    const { etag, ...value } = cursor;
    guardLength(value.value, `cursor ${cursor.mapping}/${cursor.side}`);
    const next = this.cursors.put(encodeKey(cursor.mapping), cursor.side, value, { ifMatch: etag, what: `cursor ${cursor.mapping}/${cursor.side}` });
    return { ...value, etag: next };
  }

  async deleteCursor(mapping: string, side: Side): Promise<void> {
    this.cursors.delete(encodeKey(mapping), side);
  }

  async getLinkByApp(mapping: string, appId: string): Promise<Link | null> {
    const row = this.links.get(encodeKey(mapping), linkAppRowKey(appId));
    return row ? { ...(row.value as Stored<Link>), etag: row.etag } : null;
  }

  async getLinkByDataverse(mapping: string, dataverseId: string): Promise<Link | null> {
    const pointer = this.links.get(encodeKey(mapping), linkDataverseRowKey(dataverseId));
    if (!pointer) return null;
    const link = await this.getLinkByApp(mapping, pointer.value.appId);
    return link && link.dataverseId === dataverseId ? link : null;
  }

  async getLinksByApp(mapping: string, appIds: readonly string[]): Promise<Map<string, Link>> {
    return this.linksOf(appIds, (id) => this.getLinkByApp(mapping, id));
  }

  async getLinksByDataverse(mapping: string, dataverseIds: readonly string[]): Promise<Map<string, Link>> {
    return this.linksOf(dataverseIds, (id) => this.getLinkByDataverse(mapping, id));
  }

  private async linksOf(ids: readonly string[], read: (id: string) => Promise<Link | null>): Promise<Map<string, Link>> {
    const out = new Map<string, Link>();
    for (const id of ids) {
      const link = await read(id);
      if (link) out.set(id, link);
    }
    return out;
  }

  async putLink(link: Link): Promise<Link> {
    const pk = encodeKey(link.mapping);
    const what = `link ${link.mapping}/${link.appId}`;
    const { etag, ...value } = link;
    toGuardedJson(value.base, `the base of ${what}`);
    const current = this.links.get(pk, linkAppRowKey(link.appId))?.value as Stored<Link> | undefined;
    const next = this.links.put(pk, linkAppRowKey(link.appId), value, { ifMatch: etag, what });
    this.links.put(pk, linkDataverseRowKey(link.dataverseId), { appId: link.appId });
    if (current && current.dataverseId !== link.dataverseId) this.dropOwnedPointer(pk, current.dataverseId, link.appId);
    return { ...value, etag: next };
  }

  async putLinks(links: Link[]): Promise<Link[]> {
    // Validate all first: like a transaction, a refused link leaves the others unwritten.
    for (const link of links) toGuardedJson(link.base, `the base of link ${link.mapping}/${link.appId}`);
    const refused: Link[] = [];
    // Link.pointerWritten: one map holds link and pointer here, so there is no write to leave out.
    for (const { etag: _etag, claim, pointerWritten: _pointer, ...value } of links) {
      const pk = encodeKey(value.mapping);
      const current = this.links.get(pk, linkAppRowKey(value.appId))?.value as Stored<Link> | undefined;
      // A claim (Link.claim) is refused when the app record is linked to another row meanwhile.
      if (claim && current && !current.pendingCreate && current.dataverseId !== value.dataverseId) {
        refused.push({ ...value, claim });
        continue;
      }
      this.links.put(pk, linkAppRowKey(value.appId), value);
      this.links.put(pk, linkDataverseRowKey(value.dataverseId), { appId: value.appId });
    }
    return refused;
  }

  async deleteLink(link: Link): Promise<void> {
    const pk = encodeKey(link.mapping);
    const what = `link ${link.mapping}/${link.appId}`;
    const current = this.links.get(pk, linkAppRowKey(link.appId));
    if (!current) {
      if (link.etag) throw concurrencyError(what);
      return;
    }
    this.links.delete(pk, linkAppRowKey(link.appId), { ifMatch: link.etag, what });
    this.dropOwnedPointer(pk, (current.value as Stored<Link>).dataverseId, link.appId);
  }

  async *listLinks(mapping: string): AsyncIterable<Link> {
    const pk = encodeKey(mapping);
    for (const row of this.links.list((p, r) => p === pk && r.startsWith("a|"))) yield { ...(row.value as Stored<Link>), etag: row.etag };
  }

  async *listLinkDigests(mapping: string): AsyncIterable<LinkDigest> {
    for await (const link of this.listLinks(mapping)) {
      yield {
        appId: link.appId, dataverseId: link.dataverseId, hash: link.hash,
        ...(link.appVersion !== undefined ? { appVersion: link.appVersion } : {}), ...(link.pendingCreate ? { pendingCreate: true } : {}),
      };
    }
  }

  async countLinks(mapping: string): Promise<number> {
    const pk = encodeKey(mapping);
    return this.links.list((p, r) => p === pk && r.startsWith("a|")).length;
  }

  async createRun(run: RunRecord): Promise<RunRecord> {
    const { etag: _etag, ...value } = run;
    let indexKey: string;
    try {
      indexKey = runIndexRowKey(run.startedAt, run.runId);
    } catch {
      throw new SyncError("validation", ErrorCodes.BadRequest, `run ${run.runId} has no valid startedAt`);
    }
    toGuardedJson(value, `run ${run.runId}`);
    this.runs.put(ALL_RUNS, indexKey, { runId: run.runId });
    this.runs.put(runsOf(run.mapping), indexKey, { runId: run.runId });
    const etag = this.runs.put("run", encodeKey(run.runId), value, { ifNotExists: true, what: `run ${run.runId}` });
    return { ...value, etag };
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    return this.readRun(runId);
  }

  // Read, mutate and write without an await in between: nothing can interleave, so no retry.
  async updateRun(runId: string, mutate: (run: RunRecord) => RunRecord): Promise<RunRecord> {
    const current = this.readRun(runId);
    if (!current) throw new SyncError("permanent", ErrorCodes.NotFound, `run ${runId} does not exist`);
    const { etag: _etag, ...value } = { ...mutate(structuredClone(current)), runId };
    toGuardedJson(value, `run ${runId}`);
    const etag = this.runs.put("run", encodeKey(runId), value, { ifMatch: current.etag, what: `run ${runId}` });
    return { ...JSON.parse(JSON.stringify(value)), etag };
  }

  async listRuns(options: { mapping?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const partition = options.mapping === undefined ? ALL_RUNS : runsOf(options.mapping);
    const limit = Math.max(1, options.limit ?? 50);
    const ids = [...new Set(this.runs.list((p) => p === partition).map((r) => (r.value as { runId: string }).runId))].slice(0, limit);
    const runs = ids.map((id) => this.readRun(id));
    return runs.filter((r): r is RunRecord => r !== null);
  }

  async getHealth(mapping: string, direction: DirectionKey): Promise<HealthRecord | null> {
    return this.readHealth(mapping, direction);
  }

  async updateHealth(mapping: string, direction: DirectionKey, mutate: (h: HealthRecord) => HealthRecord): Promise<HealthRecord> {
    const current = this.readHealth(mapping, direction);
    const base: HealthRecord = current ?? { mapping, direction, consecutiveFailures: 0 };
    const { etag: _etag, ...value } = { ...mutate(structuredClone(base)), mapping, direction };
    const what = `health ${mapping}/${direction}`;
    const etag = this.health.put(encodeKey(mapping), direction, value, current ? { ifMatch: current.etag, what } : { ifNotExists: true, what });
    return { ...JSON.parse(JSON.stringify(value)), etag };
  }

  async putDeadLetter(dl: DeadLetter): Promise<void> {
    toGuardedJson(dl, `dead letter ${dl.id}`);
    const previous = this.deadLetters.get(DEAD_LETTER_IDS, encodeKey(dl.id))?.value as { mapping: string } | undefined;
    this.deadLetters.put(DEAD_LETTER_IDS, encodeKey(dl.id), { mapping: dl.mapping });
    this.deadLetters.put(encodeKey(dl.mapping), encodeKey(dl.id), dl);
    if (previous && previous.mapping !== dl.mapping) this.deadLetters.delete(encodeKey(previous.mapping), encodeKey(dl.id));
  }

  async getDeadLetter(id: string): Promise<DeadLetter | null> {
    const pointer = this.deadLetters.get(DEAD_LETTER_IDS, encodeKey(id))?.value as { mapping: string } | undefined;
    if (!pointer) return null;
    return (this.deadLetters.get(encodeKey(pointer.mapping), encodeKey(id))?.value as DeadLetter | undefined) ?? null;
  }

  async listDeadLetters(options: { mapping?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return [];
    return this.deadLetterRows(options.mapping).slice(0, limit).map((r) => r.value as DeadLetter);
  }

  async deleteDeadLetter(id: string): Promise<void> {
    const pointer = this.deadLetters.get(DEAD_LETTER_IDS, encodeKey(id))?.value as { mapping: string } | undefined;
    if (pointer) this.deadLetters.delete(encodeKey(pointer.mapping), encodeKey(id));
    this.deadLetters.delete(DEAD_LETTER_IDS, encodeKey(id));
  }

  async countDeadLetters(mapping?: string): Promise<number> {
    return this.deadLetterRows(mapping).length;
  }

  async putConflict(conflict: ConflictRecord): Promise<void> {
    toGuardedJson(conflict, `conflict ${conflict.id}`);
    this.conflicts.put(encodeKey(conflict.mapping), encodeKey(conflict.id), conflict);
  }

  async listConflicts(options: { mapping?: string; status?: "open" | "resolved" } = {}): Promise<ConflictRecord[]> {
    const pk = options.mapping === undefined ? undefined : encodeKey(options.mapping);
    return this.conflicts.list((p) => pk === undefined || p === pk)
      .map((r) => r.value)
      .filter((c) => options.status === undefined || c.status === options.status);
  }

  private readRun(runId: string): RunRecord | null {
    const row = this.runs.get("run", encodeKey(runId));
    return row ? { ...(row.value as Stored<RunRecord>), etag: row.etag } : null;
  }

  private readHealth(mapping: string, direction: DirectionKey): HealthRecord | null {
    const row = this.health.get(encodeKey(mapping), direction);
    return row ? { ...row.value, etag: row.etag } : null;
  }

  private deadLetterRows(mapping: string | undefined) {
    const pk = mapping === undefined ? undefined : encodeKey(mapping);
    return this.deadLetters.list((p) => (pk === undefined ? p < RESERVED_PREFIX : p === pk));
  }

  private dropOwnedPointer(pk: string, dataverseId: string, appId: string): void {
    const pointer = this.links.get(pk, linkDataverseRowKey(dataverseId));
    if (pointer && (pointer.value as { appId: string }).appId === appId) this.links.delete(pk, linkDataverseRowKey(dataverseId));
  }
}

export function createMemoryStateStore(): MemoryStateStore {
  return new MemoryStateStore();
}
