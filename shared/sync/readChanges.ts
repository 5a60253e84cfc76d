import { ErrorCodes, SyncError, isSyncError } from "../errors.js";
import type { Cursor, DataverseClient, DataverseRow } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import { CompactRead, type CompactOptions } from "./compactRead.js";
import { IdSet } from "./idSet.js";

export interface DataverseChanges {
  /** Rows to plan (echoes set aside). */
  rows: DataverseRow[];
  deleted: string[];
  /**
   * Delta reads only: ids of rows set aside as possible echoes of our own writes (`echoHash`), each
   * with the first 32 bits of its mapped values' hash, so the run after a large load does not hold
   * the load's rows. The planner checks that they are linked and that the hash equals the link's. A
   * complete read sets nothing aside: it holds every link's digest anyway, and on a first run rows
   * written by our user before the sync existed (a migration under the same identity) are
   * unlinked, not echoes.
   */
  echoes: IdSet;
  /** Complete reads only: the id of every row read (absence proves a delete); a compact read's own ids. */
  seen?: { has(id: string): boolean };
  /**
   * Complete reads above `CompactOptions.above` rows: every row reduced to its id, hash and key
   * (`rows` is then empty); the planner pairs it page by page and reads the table again for the rest.
   */
  compact?: CompactRead;
  deltaLink?: string;
  /** Every row was read (initial read), so a linked row that is absent has been deleted. */
  complete: boolean;
  note?: string;
}

/**
 * Dataverse side of a run: the delta since the stored link, or everything (full mode, first run,
 * or after an expired delta token, which is reported in the run's notes). Pages are consumed as
 * they arrive; in a delta, rows `echoHash` hashes keep only their id and that hash; a complete read
 * above `compact.above` rows keeps only their ids, hashes and keys (`DataverseChanges.compact`).
 */
export async function readDataverseChanges(
  client: DataverseClient,
  mapping: CompiledMapping,
  cursor: Cursor | null,
  full: boolean,
  echoHash: (row: DataverseRow) => number | undefined | Promise<number | undefined> = () => undefined,
  compact?: CompactOptions,
): Promise<DataverseChanges> {
  const entitySet = mapping.mapping.dataverse.entitySet;
  const read = async (deltaLink?: string): Promise<DataverseChanges> => {
    const seen = deltaLink ? undefined : new IdSet();
    const out: DataverseChanges = { rows: [], deleted: [], echoes: IdSet.withValues(), seen, complete: !deltaLink };
    for await (const page of client.readChanges(entitySet, { select: mapping.select, deltaLink })) {
      for (const row of page.rows) {
        const id = rowIdOf(mapping, row);
        if (!out.compact) seen?.add(id);
        let hash = deltaLink ? echoHash(row) : undefined;
        if (hash instanceof Promise) hash = await hash;
        if (hash !== undefined) out.echoes.add(id, hash);
        else if (out.compact) await out.compact.add(row);
        else out.rows.push(row);
        if (!deltaLink && compact && !out.compact && out.rows.length > compact.above) {
          const reduced = new CompactRead(mapping.primaryId, compact);
          for (const held of out.rows.splice(0)) await reduced.add(held);
          // Every row read goes into the compact read from here on, which then knows what was seen (16 bytes a row less).
          out.compact = reduced;
          out.seen = { has: (rowId) => reduced.wasRead(rowId) };
        }
      }
      for (const id of page.deleted) out.deleted.push(id);
      if (page.deltaLink) out.deltaLink = page.deltaLink;
    }
    return out;
  };
  if (full || !cursor) return read();
  try {
    return await read(cursor.value);
  } catch (e) {
    if (!isSyncError(e) || e.code !== ErrorCodes.ExpiredDeltaToken) throw e;
    const result = await read();
    result.note = `Dataverse delta token for ${entitySet} (taken ${cursor.takenAt}) has expired; ` +
      `re-read all rows and reconciled them by key`;
    return result;
  }
}

/** A row's id; a row without one cannot be paired (read as "undefined" it would stand for another record). */
export function rowIdOf(mapping: CompiledMapping, row: DataverseRow): string {
  const raw = row[mapping.primaryId];
  if (typeof raw !== "string" || raw === "") {
    throw new SyncError("permanent", ErrorCodes.UnexpectedResponse, `${ErrorCodes.UnexpectedResponse}: Dataverse change tracking of ${mapping.mapping.dataverse.entitySet} sent a row without its ${mapping.primaryId}; the run ends before anything of that page is decided`);
  }
  return raw;
}
