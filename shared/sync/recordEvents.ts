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
