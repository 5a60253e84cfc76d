import type { AppClient, DataverseClient, DataverseRow, SyncStateStore } from "../ports.js";
import type { CompactOptions, CompactRead } from "./compactRead.js";
import { MUST_READ, compactReads } from "./compactRead.js";
import { hash32, mappedHash32, type DecideContext, type Decisions, type Pair } from "./decide.js";
import { Held, type HeldLinks } from "./heldLinks.js";
import type { LinkIndex } from "./linkIndex.js";
import { claimByAppId, readRowsById } from "./planner.js";
import { rowIdOf } from "./readChanges.js";

interface Deps {
  dataverse: DataverseClient;
  app: AppClient;
  state: SyncStateStore;
}

/** How a complete read of this mapping turns compact: rows outside the filter or unmappable are always read again. */
export function compactOptionsOf(ctx: DecideContext): CompactOptions {
  const m = ctx.mapping;
  return {
    above: compactReads.above,
    hash: (row) => rowHash(ctx, row),
    key: m.keyFields.length ? (row) => m.keyStringOfRow(row) : () => null,
    ...(compactReads.keyHash ? { keyHash: compactReads.keyHash } : {}),
  };
}

/** Whether a row's mapped values hash like its link's (`hash32` of the link's hash): nothing changed since the last sync. */
export const matchesLink = (hash: number | undefined, linkHash32: number) => hash !== undefined && hash !== MUST_READ && hash === linkHash32;

/**
 * One page of the app's feed against a compact read: a linked record claims its row, which is read
 * (with the page's other reads, 50 to a request) only when its hash differs from the link's; an
 * unlinked record takes the unlinked row with its key, checked on the row read (key hashes may
 * collide). A pair whose row was claimed unchanged goes on without `dv`, like a delta pair whose
 * row is not in the delta (readDataverseSides reads it when the app record changed).
 */
export async function pairCompactPage(deps: Deps, ctx: DecideContext, compact: CompactRead, links: LinkIndex, pairs: Pair[]): Promise<void> {
  const m = ctx.mapping;
  const linked = new Map<string, Pair>();
  /** Candidate row id → the records that hope to match it (keys may share a hash: the row's key decides). */
  const byKey = new Map<string, { pair: Pair; key: string }[]>();
  for (const p of pairs) {
    if (p.link) {
      if (p.dvGone || p.dv) continue;
      const hash = compact.hashOf(p.link.dataverseId);
      if (!compact.claim(p.link.dataverseId)) continue;
      if (p.link.pendingCreate || !matchesLink(hash, hash32(p.link.hash))) linked.set(p.link.dataverseId, p);
    } else if (p.app) {
      let key: string | null;
      try {
        key = m.keyString(m.appToCanonical(p.app));
      } catch {
        continue; // reported when the pair is decided
      }
      const id = key ? compact.candidate(key) : undefined;
      if (!key || !id || !compact.has(id) || (await links.linksDataverseId(id))) continue;
      byKey.set(id, [...(byKey.get(id) ?? []), { pair: p, key }]);
    }
  }
  if (!linked.size && !byKey.size) return;
  for (const row of await readRowsById(deps, m, [...linked.keys(), ...byKey.keys()])) {
    const id = String(row[m.primaryId]);
    const own = linked.get(id);
    // A row that went away since the first read is left to readDataverseSides and the next delta.
    if (own) own.dv = row;
    const rowKey = m.keyStringOfRow(row);
    const match = byKey.get(id)?.find((c) => c.key === rowKey);
    if (match && compact.claim(id)) {
      match.pair.dv = row;
      compact.forgetKey(match.key, id);
    }
  }
}

export interface LeftoverHooks {
  /** Decides a pair (or defers it when pending). */
  decide(pair: Pair): Promise<void>;
  /** Hands the writes decided so far to the sink. */
  flush(): Promise<void>;
}

/**
 * The rows no app record claimed, decided by reading the table a second time page by page: a row
 * still unclaimed is paired with its link; a linked row that hashes like its link and whose app
 * record neither changed nor went away needs no decision (skipped, as deciding it would).
 * `appGone` holds the Dataverse ids of linked records whose app record is gone: they are decided
 * with their row. Rows created since the first read are not in the compact read: the next delta
 * (from the first read's link) brings them, as it brings rows deleted since. Returns the rows read.
 */
export async function decideLeftovers(
  deps: Deps, ctx: DecideContext, compact: CompactRead, links: LinkIndex, appGone: Set<string>, appComplete: boolean, plan: Decisions, hooks: LeftoverHooks,
): Promise<number> {
  const m = ctx.mapping;
  const held = links.digests!; // a compact read is a complete one: every link's digest is held
  let read = 0;
  for await (const page of deps.dataverse.readChanges(m.mapping.dataverse.entitySet, { select: m.select })) {
    read += page.rows.length;
    const rows: DataverseRow[] = [];
    for (const row of page.rows) {
      const id = rowIdOf(m, row);
      if (!compact.claim(id)) continue;
      // A linked row that hashes like its link, whose app record neither changed nor went away: skipped without reading its link.
      if (!appGone.has(id) && (await unchangedRow(ctx, held, id, row))) plan.skipped.toApp += 1;
      else rows.push(row);
    }
    await links.prefetch({ dataverseIds: rows.map((row) => rowIdOf(m, row)) });
    const pairs = new Map<string, Pair>();
    for (const row of rows) {
      const id = rowIdOf(m, row);
      const link = await links.byDataverseId(id);
      const p: Pair = { dv: row, ...(link ? { link } : {}), ...(appGone.delete(id) ? { appGone: true } : {}) };
      pairs.set(link ? `L:${link.appId}` : `D:${id}`, p);
    }
    if (!appComplete) await claimByAppId(deps, ctx, pairs);
    for (const p of pairs.values()) await hooks.decide(p);
    await hooks.flush();
  }
  // Linked records gone from the app whose row went away between the two reads: gone on both sides.
  for (const id of appGone) {
    const link = await links.byDataverseId(id);
    if (link) await hooks.decide({ link, appGone: true, dvGone: true });
  }
  appGone.clear();
  await hooks.flush();
  return read;
}

/** Whether a row is linked (held), not pending, and hashes like its link. */
async function unchangedRow(ctx: DecideContext, held: HeldLinks, id: string, row: DataverseRow): Promise<boolean> {
  const slot = held.byDataverse(id);
  if (slot < 0 || held.has(slot, Held.PendingCreate)) return false;
  if (ctx.pending?.has(`a:${held.appId(slot)}`) || ctx.pending?.has(`d:${id}`)) return false;
  return matchesLink(await rowHash(ctx, row), held.hash32(slot));
}

/** A row's hash as links keep theirs; undefined (always decided) outside the filter or unmappable. */
function rowHash(ctx: DecideContext, row: DataverseRow): number | undefined | Promise<number | undefined> {
  return ctx.mapping.acceptsDataverse(row) ? mappedHash32(ctx, row) : undefined;
}
