import type { DataverseRow, Link, SyncStateStore } from "../ports.js";
import type { WriteOutcome } from "./writeOutcome.js";
import type { RecordEventMessage } from "./writeOps.js";

/** What many notices came to: the writes' outcome, and the notices whose record did not sync (to deliver again). */
export interface RecordEventsResult {
  outcome: WriteOutcome;
  failed: { event: RecordEventMessage; error: unknown }[];
}

/** The notices of one mapping and side, each record once (`byId`: every notice naming it). */
export interface RecordEventGroup {
  mapping: string;
  side: RecordEventMessage["side"];
  ids: string[];
  byId: Map<string, RecordEventMessage[]>;
  events: RecordEventMessage[];
}

/** Groups notices per mapping and side, in arrival order; a record named twice is decided once. */
export function groupRecordEvents(events: readonly RecordEventMessage[]): RecordEventGroup[] {
  const groups = new Map<string, RecordEventGroup>();
  for (const ev of events) {
    const key = `${ev.mapping}\u0000${ev.side}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { mapping: ev.mapping, side: ev.side, ids: [], byId: new Map(), events: [] }));
    g.events.push(ev);
    const same = g.byId.get(ev.id);
    if (same) same.push(ev);
    else {
      g.byId.set(ev.id, [ev]);
      g.ids.push(ev.id);
    }
  }
  return [...groups.values()];
}

/**
 * The links of records named by Dataverse notices, for the whole batch at once. A row whose key
 * column (`keyColumn`: the mapping's key when it is the app id alone) names its app record has its
 * link read by that app id, without the `d|` pointer; the link counts only when it names this very
 * row (the link is the truth). The others go through their pointers, a few queries for all of them.
 */
export async function linksOfDataverseIds(
  state: SyncStateStore, mapping: string, ids: readonly string[], rows: Map<string, DataverseRow | null> | undefined, keyColumn: string | undefined,
): Promise<Map<string, Link>> {
  const named = new Map<string, string>();
  for (const id of keyColumn && rows ? ids : []) {
    const appId = rows!.get(id)?.[keyColumn!];
    if (typeof appId === "string" && appId) named.set(id, appId);
  }
  const byApp = named.size ? await state.getLinksByApp(mapping, [...named.values()]) : new Map<string, Link>();
  const out = new Map<string, Link>();
  for (const [dataverseId, appId] of named) {
    const link = byApp.get(appId);
    if (link?.dataverseId === dataverseId) out.set(dataverseId, link);
  }
  const rest = ids.filter((id) => !out.has(id));
  if (rest.length) for (const [dataverseId, link] of await state.getLinksByDataverse(mapping, rest)) out.set(dataverseId, link);
  return out;
}
