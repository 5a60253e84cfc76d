import { vi } from "vitest";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { demoConfig, type SyncHarness } from "../../support/syncHarness.js";

/** "Kari Nordmann" of the demo schema: a person editing Dataverse, not the integration's user. */
export const OTHER_USER = "5a0e0f2c-6a39-4c3e-8d4b-000000000002";

/** Contact ids of the Dataverse seed rows for m-0001..m-0003. */
export const contactIdOf = (n: 1 | 2 | 3) => `c0a80001-0000-4000-8000-00000000000${n}`;

/** Edits a Dataverse row as another user (validated, versioned, in the change-tracking feed). */
export function editDataverse(h: SyncHarness, table: string, id: string, body: Record<string, unknown>, userId = OTHER_USER): void {
  h.stack.dataverse.ctx.ops.update(table, id, body, userId);
}

export function contact(h: SyncHarness, id: string): Record<string, unknown> {
  const row = h.stack.dataverse.row("contact", id);
  if (!row) throw new Error(`no contact ${id}`);
  return row;
}

export function contactByMentorId(h: SyncHarness, mentorId: string): Record<string, unknown> | undefined {
  return h.stack.dataverse.rows("contact").find((r) => r.hlf_mentorid === mentorId);
}

/**
 * The column bodies Dataverse received for updates of `entitySet` since `since` (log index), keyed by
 * row id: PATCH bodies and UpdateMultiple Targets alike, without the bulk bookkeeping properties.
 */
export function dataverseUpdates(h: SyncHarness, entitySet: string, primaryId: string, since: number): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const w of h.stack.dataverse.log.entries().slice(since)) {
    if (w.status >= 400) continue;
    if (w.method === "POST" && w.path.includes(`${entitySet}/Microsoft.Dynamics.CRM.UpdateMultiple`)) {
      for (const t of (JSON.parse(w.body) as { Targets: Record<string, unknown>[] }).Targets) {
        const { [primaryId]: id, "@odata.type": _type, ...columns } = t;
        out.set(String(id), columns);
      }
    }
    const single = new RegExp(`${entitySet}\\(([0-9a-f-]{36})\\)$`).exec(w.path.split("?")[0]);
    if (w.method === "PATCH" && single) out.set(single[1], JSON.parse(w.body) as Record<string, unknown>);
  }
  return out;
}

/** App PATCH bodies since `since` (request index), keyed by record id. */
export function appPatches(h: SyncHarness, entity: string, since: number): Map<string, { data: Record<string, unknown>; dataverseId?: string }> {
  const out = new Map<string, { data: Record<string, unknown>; dataverseId?: string }>();
  for (const r of h.stack.app.requests.slice(since)) {
    const m = new RegExp(`^/sync/${entity}/([^/?]+)$`).exec(r.path);
    if (r.method === "PATCH" && m && r.status < 400) out.set(decodeURIComponent(m[1]), r.body as { data: Record<string, unknown> });
  }
  return out;
}

/** Positions in both request logs, to look at what a later cycle sent. */
export function mark(h: SyncHarness): { dv: number; app: number } {
  return { dv: h.stack.dataverse.log.entries().length, app: h.stack.app.requests.length };
}

/** Write requests (either side) since a mark. */
export function writesSince(h: SyncHarness, at: { dv: number; app: number }): { dataverse: string[]; app: string[] } {
  const isWrite = (m: string) => m !== "GET";
  return {
    dataverse: h.stack.dataverse.log.entries().slice(at.dv).filter((e) => isWrite(e.method) && !/WhoAmI/.test(e.path)).map((e) => `${e.method} ${e.path}`),
    app: h.stack.app.requests.slice(at.app).filter((r) => isWrite(r.method)).map((r) => `${r.method} ${r.path}`),
  };
}

/** The demo config with the mentors mapping changed by `change`. */
export function configWithMentors(change: (mentors: Record<string, unknown>) => void, options?: Record<string, unknown>): SyncConfigInput {
  const config = demoConfig() as unknown as { mappings: Record<string, unknown>[]; options?: Record<string, unknown> };
  change(config.mappings.find((m) => m.name === "mentors")!);
  if (options) config.options = { ...config.options, ...options };
  return config as unknown as SyncConfigInput;
}

/** A file of one two-way mapping whose key column takes the app id, followed by `fields`. */
export function oneMappingConfig(m: {
  name: string; entity: string; entitySet: string; table: string; key: string;
  strategy: "newest-wins" | "dataverse-wins" | "app-wins" | "manual"; fields: Record<string, unknown>[];
}): SyncConfigInput {
  return {
    mappings: [{
      name: m.name, app: { entity: m.entity }, dataverse: { entitySet: m.entitySet, table: m.table, key: [m.key] },
      direction: "both", conflict: { strategy: m.strategy },
      fields: [{ app: "id", dataverse: m.key, type: "string", direction: "to-dataverse" }, ...m.fields],
    }],
  } as SyncConfigInput;
}

/** Spies on the state store's link reads from now on (Table Storage on Azurite): the whole table, one by one, and many at once. */
export function linkReads(h: SyncHarness) {
  const state = h.services.state;
  return {
    whole: vi.spyOn(state, "listLinks"),
    one: [vi.spyOn(state, "getLinkByApp"), vi.spyOn(state, "getLinkByDataverse")],
    byApp: vi.spyOn(state, "getLinksByApp"),
    byDataverse: vi.spyOn(state, "getLinksByDataverse"),
  };
}
