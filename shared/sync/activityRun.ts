import type { ActivityMapping } from "../config/activityMapping.js";
import type { AppRecord, Clock } from "../ports.js";
import { emptyActivityOutcome, writeActivities, type ActivityDeps, type ActivityOutcome } from "./activities.js";
import { UserDirectory } from "./activityParties.js";
import type { RecordFailure } from "./decide.js";

/** Records per page of the app's activity feed (one batch of user look-ups, existence reads and writes). */
const PAGE = 1000;

export interface ActivityRunHooks {
  /** App ids of the mapping's pending activities: re-read fresh and sent again. */
  pendingAppIds: string[];
  /** Records what did not go out as pending, before the cursor moves past it. */
  recordPending(failures: RecordFailure[]): Promise<void>;
  /** Pending entries of activities that went out are cleared. */
  cleared(appIds: string[]): Promise<void>;
}

function merge(into: ActivityOutcome, part: ActivityOutcome): void {
  into.created += part.created;
  into.closed += part.closed;
  into.skipped += part.skipped;
  into.failed += part.failed;
  into.reads += part.reads;
  into.failures.push(...part.failures);
  into.synced.push(...part.synced);
  into.notes.push(...part.notes);
}

/**
 * One run of an activity mapping: the app's feed since the cursor, page by page (the cursor moves
 * only past pages whose activities went out or are recorded pending), then the pending activities
 * the feed did not bring, re-read fresh. `appIds` instead: just those (the app's change notices).
 */
export async function runActivityMapping(
  deps: ActivityDeps & { clock: Clock }, m: ActivityMapping, options: { full: boolean; appIds?: string[] }, hooks: ActivityRunHooks,
): Promise<ActivityOutcome> {
  const total = emptyActivityOutcome();
  const users = new UserDirectory(deps.dataverse);
  const seen = new Set<string>();
  const batch = async (records: AppRecord[]) => {
    for (const r of records) seen.add(r.id);
    const out = await writeActivities(deps, m, records, users);
    await hooks.recordPending(out.failures);
    if (out.synced.length) await hooks.cleared(out.synced);
    merge(total, out);
  };
  if (!options.appIds) {
    const cursor = options.full ? null : await deps.state.getCursor(m.name, "app");
    for await (const page of deps.app.changes(m.app.entity, cursor?.value, PAGE)) {
      await batch(page.records);
      const current = await deps.state.getCursor(m.name, "app");
      await deps.state.putCursor({ mapping: m.name, side: "app", value: page.nextCursor, takenAt: new Date(deps.clock.now()).toISOString(), etag: current?.etag });
    }
  }
  const reread = [...new Set([...(options.appIds ?? []), ...hooks.pendingAppIds])].filter((id) => !seen.has(id));
  for (let i = 0; i < reread.length; i += PAGE) {
    const records: AppRecord[] = [];
    for (const id of reread.slice(i, i + PAGE)) {
      const r = await deps.app.get(m.app.entity, id);
      if (r) records.push(r);
      else await hooks.cleared([id]); // gone from the app: nothing left to send
    }
    await batch(records);
  }
  return total;
}
