import { mapLimited } from "../mapLimited.js";
import type { Mapping, SyncConfig } from "../config/mapping.js";
import { fieldDirection } from "../config/mapping.js";
import type { Canonical, Clock, DataverseClient, Link, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import { canonicalEquals } from "./hash.js";
import type { LookupResolver } from "./lookups.js";
import { readRowsById } from "./planner.js";
import type { WriteOp } from "./writeOps.js";

/**
 * Expiry rules (`"expires": {"when": "<date field>", "becomes": <value>}` on a field): time passing
 * is a change that no feed reports, so each scheduled run finds the records whose date has passed
 * through an index in Table Storage (date -> record), without reading the whole table, and writes
 * the new value to the sides the field's direction allows.
 */

/** One index entry: the record's `when` value while its field has not taken `becomes` yet. */
export interface ExpiryEntry {
  mapping: string;
  /** The app name of the date field. */
  whenField: string;
  /** Its canonical value (YYYY-MM-DD, or an ISO instant for datetime fields). */
  when: string;
  appId: string;
  dataverseId: string;
}

/** The index (shared/state/tableExpiryIndex.ts, memoryExpiryIndex.ts). */
export interface ExpiryIndex {
  /** Upserts; an entry is identified by mapping, date field, date and app id. */
  put(entries: readonly ExpiryEntry[]): Promise<void>;
  /** Entries of `mapping` and `whenField` whose date sorts before `before`, oldest first, at most `limit`. */
  due(mapping: string, whenField: string, before: string, limit: number): Promise<ExpiryEntry[]>;
  remove(entries: readonly ExpiryEntry[]): Promise<void>;
  /** Whether the index of `mapping` was built from its links (once, when its first rule appeared). */
  built(mapping: string): Promise<boolean>;
  markBuilt(mapping: string): Promise<void>;
}

export interface ExpiryRule {
  field: string;
  whenField: string;
  whenType: "date" | "datetime";
  becomes: unknown;
  toDataverse: boolean;
  toApp: boolean;
}

/** Entries a run reads per date field at most; the rest wait for the next run, still indexed. */
export const EXPIRY_BATCH = 10_000;

export function expiryRulesOf(mapping: Mapping): ExpiryRule[] {
  return mapping.fields.filter((f) => f.expires).map((f) => {
    const when = mapping.fields.find((w) => w.app === f.expires!.when)!;
    const direction = fieldDirection(mapping, f);
    return {
      field: f.app, whenField: when.app, whenType: when.type === "datetime" ? "datetime" : "date", becomes: f.expires!.becomes,
      toDataverse: direction !== "to-app", toApp: direction !== "to-dataverse",
    };
  });
}

/** The entries a link needs: one per date field with a rule whose field has not taken its value. */
export function entriesOf(rules: readonly ExpiryRule[], link: Pick<Link, "mapping" | "appId" | "dataverseId" | "base">): ExpiryEntry[] {
  const out = new Map<string, ExpiryEntry>();
  for (const r of rules) {
    const when = link.base[r.whenField];
    if (typeof when !== "string" || !when || canonicalEquals(link.base[r.field], r.becomes)) continue;
    out.set(r.whenField, { mapping: link.mapping, whenField: r.whenField, when, appId: link.appId, dataverseId: link.dataverseId });
  }
  return [...out.values()];
}

/**
 * The state store with the index kept up to date: every link written (by a writer, a refresh or a
 * plan) adds the entries it needs. An entry whose record later changed its date or value is dropped
 * when a run meets it (it is checked against the link then), so nothing is removed here.
 */
export function trackingExpiries(state: SyncStateStore, index: ExpiryIndex, config: Pick<SyncConfig, "mappings">): SyncStateStore {
  const rules = new Map(config.mappings.map((m) => [m.name, expiryRulesOf(m)] as const).filter(([, r]) => r.length > 0));
  if (!rules.size) return state;
  const track = (links: readonly Link[]) => index.put(links.flatMap((l) => entriesOf(rules.get(l.mapping) ?? [], l)));
  const putLink = state.putLink.bind(state);
  const putLinks = state.putLinks.bind(state);
  state.putLink = async (link) => {
    const stored = await putLink(link);
    await track([stored]);
    return stored;
  };
  state.putLinks = async (links) => {
    const refused = await putLinks(links);
    await track(refused.length ? links.filter((l) => !refused.includes(l)) : links);
    return refused;
  };
  return state;
}

export interface ExpiryDeps {
  state: SyncStateStore;
  dataverse: DataverseClient;
  clock: Clock;
  expiry: ExpiryIndex;
}

export interface ExpiryPlan {
  toDataverse: WriteOp[];
  toApp: WriteOp[];
  /** Index entries read, and dropped because their record no longer needs them. */
  read: number;
  dropped: number;
}

/** Links read side by side: a run's due entries are its expiring records only, but there may be thousands. */
const LINK_READS = 16;

function linksOf(state: SyncStateStore, mapping: string, entries: readonly ExpiryEntry[]): Promise<(Link | null)[]> {
  return mapLimited(entries, LINK_READS, (e) => state.getLinkByApp(mapping, e.appId));
}

/** The bound entries must sort before: today's date for date fields (a date passes at its end), now for datetimes. */
function boundOf(rule: ExpiryRule, now: number): string {
  const iso = new Date(now).toISOString();
  return rule.whenType === "date" ? iso.slice(0, 10) : iso;
}

/**
 * Indexes, once, the links written before the mapping had a rule (every link written since is
 * indexed by its writer, trackingExpiries). A run calls it BEFORE it writes: built at the end, it
 * re-indexed every link the run had just written and indexed already (a first load of 1,000,000
 * records put its 1,000,000 entries twice).
 */
export async function ensureExpiryIndex(deps: Pick<ExpiryDeps, "state" | "expiry">, m: CompiledMapping): Promise<void> {
  const rules = expiryRulesOf(m.mapping);
  if (!rules.length || (await deps.expiry.built(m.name))) return;
  let batch: ExpiryEntry[] = [];
  for await (const link of deps.state.listLinks(m.name)) {
    batch.push(...entriesOf(rules, link));
    if (batch.length >= 1000) await deps.expiry.put(batch.splice(0));
  }
  await deps.expiry.put(batch);
  await deps.expiry.markBuilt(m.name);
}

/**
 * The writes that apply the mapping's expiry rules to the records whose date has passed. Each due
 * entry is checked against its link (the base both sides held at the last sync): an entry whose date
 * or value changed since is dropped. The Dataverse rows of the rest are read again (50 to a request),
 * so a row someone changed meanwhile is left to the feed, and the write is conditional on the row
 * version read; the app write is conditional on the link's app version.
 */
export async function planExpiries(deps: ExpiryDeps, m: CompiledMapping, lookups: LookupResolver, options: { dryRun?: boolean } = {}): Promise<ExpiryPlan> {
  const plan: ExpiryPlan = { toDataverse: [], toApp: [], read: 0, dropped: 0 };
  const rules = expiryRulesOf(m.mapping);
  if (!rules.length) return plan;
  if (!options.dryRun) await ensureExpiryIndex(deps, m);
  const now = deps.clock.now();
  const candidates = new Map<string, { link: Link; rules: ExpiryRule[] }>();
  const drop: ExpiryEntry[] = [];
  for (const whenField of new Set(rules.map((r) => r.whenField))) {
    const onField = rules.filter((r) => r.whenField === whenField);
    const due = await deps.expiry.due(m.name, whenField, boundOf(onField[0], now), EXPIRY_BATCH);
    plan.read += due.length;
    const links = await linksOf(deps.state, m.name, due);
    for (const [i, entry] of due.entries()) {
      const link = links[i];
      const open = link && link.base[whenField] === entry.when ? onField.filter((r) => !canonicalEquals(link.base[r.field], r.becomes)) : [];
      if (!link || !open.length) {
        drop.push(entry);
        continue;
      }
      const c = candidates.get(link.appId) ?? { link, rules: [] };
      c.rules.push(...open);
      candidates.set(link.appId, c);
    }
  }
  if (!options.dryRun) await deps.expiry.remove(drop);
  plan.dropped = drop.length;
  const needsRows = [...candidates.values()].some((c) => c.rules.some((r) => r.toDataverse));
  const rows = needsRows ? await readRowsById(deps, m, [...candidates.values()].map((c) => c.link.dataverseId)) : [];
  const rowOf = new Map(rows.map((r) => [String(r[m.primaryId]), r]));
  for (const { link, rules: open } of candidates.values()) {
    const row = rowOf.get(link.dataverseId);
    let dvVersion: string | undefined;
    if (needsRows) {
      // Only the rule's columns are compared, but the row is converted whole (lookups included): an
      // unmappable row is left to the feed, which fails it with its reason.
      const dv = row ? await m.dataverseToCanonical(row, lookups).catch(() => undefined) : undefined;
      // The row changed since the last sync (or is gone): the feed decides it, the entry stays.
      if (!dv || open.some((r) => !canonicalEquals(dv[r.field], link.base[r.field]) || !canonicalEquals(dv[r.whenField], link.base[r.whenField]))) continue;
      dvVersion = String(row!["@odata.etag"] ?? "") || undefined;
    }
    const values = (side: "toDataverse" | "toApp"): Canonical => Object.fromEntries(open.filter((r) => r[side]).map((r) => [r.field, r.becomes]));
    const ids = { appId: link.appId, dataverseId: link.dataverseId, attempt: 0, changedAt: new Date(now).toISOString() };
    const toDv = values("toDataverse");
    const toApp = values("toApp");
    if (Object.keys(toDv).length) plan.toDataverse.push({ kind: "update", ...ids, values: toDv, base: toDv, ...(dvVersion ? { dataverseVersion: dvVersion } : {}) });
    if (Object.keys(toApp).length) plan.toApp.push({ kind: "update", ...ids, values: toApp, base: toApp, ...(link.appVersion ? { appVersion: link.appVersion } : {}) });
  }
  return plan;
}
