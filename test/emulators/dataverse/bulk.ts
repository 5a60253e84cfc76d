/**
 * Bulk messages bound to an entity set (dataverse-web-api.md §5): CreateMultiple, UpdateMultiple,
 * UpsertMultiple are all-or-nothing on standard tables; DeleteMultiple only exists for elastic
 * tables, which the emulator has none of. Each Target goes through `ctx.ops`, so it raises the
 * ordinary per-row Create/Update event once the transaction commits.
 */
import { parseJson } from "../../../shared/http/exactJson.js";
import { isActivityTable } from "./activities.js";
import { DataverseFault, faultResponse, type EmuRequest, type EmuResponse, type EmulatorContext } from "./types.js";

export type BulkMessage = "CreateMultiple" | "UpdateMultiple" | "UpsertMultiple" | "DeleteMultiple";

type Target = Record<string, unknown>;

export async function handleBulk(message: BulkMessage, entitySet: string, req: EmuRequest, ctx: EmulatorContext): Promise<EmuResponse> {
  try {
    const table = ctx.ops.tableForEntitySet(entitySet);
    if (!table) throw new DataverseFault(404, "0x0", `Resource not found for the segment '${entitySet}'.`);
    if (message === "DeleteMultiple") throw new DataverseFault(400, "", "DeleteMultiple has not yet been implemented.");
    const targets = readTargets(req.body, table);
    switch (message) {
      case "CreateMultiple": {
        const ids = await ctx.transaction(async () => targets.map((t) => ctx.ops.create(table, columns(t), req.userId)));
        return json(200, { "@odata.context": `${ctx.serviceRoot}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`, Ids: ids });
      }
      case "UpdateMultiple":
        await updateMultiple(table, targets, req.userId, ctx);
        return noContent();
      case "UpsertMultiple":
        await upsertMultiple(table, targets, req.userId, ctx);
        return noContent();
    }
  } catch (error) {
    if (error instanceof DataverseFault) return faultResponse(error);
    throw error;
  }
}

async function updateMultiple(table: string, targets: Target[], userId: string, ctx: EmulatorContext): Promise<void> {
  const primaryId = primaryIdOf(table);
  const seen = new Set<string>();
  const work: Array<{ id: string; body: Target }> = [];
  for (const [index, target] of targets.entries()) {
    const id = target[primaryId];
    if (typeof id !== "string" || !id) {
      throw new DataverseFault(400, "0x80040203", `Targets[${index}] must contain the primary key '${primaryId}' (UpdateMultiple does not accept alternate keys).`);
    }
    const normalized = id.toLowerCase();
    if (seen.has(normalized)) continue; // documented: only the first Target per record is applied
    seen.add(normalized);
    const body = columns(target);
    delete body[primaryId];
    work.push({ id, body });
  }
  await ctx.transaction(async () => {
    for (const { id, body } of work) ctx.ops.update(table, id, body, userId);
  });
}

async function upsertMultiple(table: string, targets: Target[], userId: string, ctx: EmulatorContext): Promise<void> {
  const primaryId = primaryIdOf(table);
  const seen = new Set<string>();
  const work: Array<{ key: Record<string, unknown>; body: Target }> = [];
  for (const [index, target] of targets.entries()) {
    const body = columns(target);
    let key: Record<string, unknown>;
    const recordUrl = target["@odata.id"];
    if (typeof recordUrl === "string") {
      const parsed = ctx.ops.parseRecordUrl(recordUrl);
      if (!parsed || parsed.table !== table) {
        throw new DataverseFault(400, "0x80090800", `Targets[${index}] has an @odata.id '${recordUrl}' that is not a key URL of the ${table} table.`);
      }
      key = parsed.key;
    } else if (typeof target[primaryId] === "string") {
      key = { [primaryId]: target[primaryId] };
      delete body[primaryId];
    } else {
      throw new DataverseFault(400, "0x80040203", `Targets[${index}] must identify the record by @odata.id or '${primaryId}'.`);
    }
    const identity = keyIdentity(key);
    if (seen.has(identity)) {
      throw new DataverseFault(400, "0x80040237", `Cannot insert duplicate key. Targets[${index}] repeats the key ${identity}.`);
    }
    seen.add(identity);
    work.push({ key, body });
  }
  await ctx.transaction(async () => {
    for (const { key, body } of work) ctx.ops.upsert(table, key, body, userId);
  });
}

function readTargets(body: string, table: string): Target[] {
  let parsed: unknown;
  try {
    parsed = parseJson(body);
  } catch {
    throw new DataverseFault(400, "0x0", "The request body is not valid JSON.");
  }
  const targets = (parsed as { Targets?: unknown } | null)?.Targets;
  if (!Array.isArray(targets) || targets.length === 0) {
    throw new DataverseFault(400, "0x0", "The request body must contain a non-empty 'Targets' array.");
  }
  const expected = `Microsoft.Dynamics.CRM.${table}`;
  targets.forEach((target, index) => {
    if (!target || typeof target !== "object" || Array.isArray(target)) {
      throw new DataverseFault(400, "0x0", `Targets[${index}] must be an object.`);
    }
    const type = String((target as Target)["@odata.type"] ?? "").replace(/^#/, "");
    if (type !== expected) {
      throw new DataverseFault(400, "0x0", `Targets[${index}] must have "@odata.type":"${expected}" (found '${type || "none"}'); all Targets must be of the table the action is bound to.`);
    }
  });
  return targets as Target[];
}

/** The Target without its instance annotations (binds such as `x@odata.bind` stay: they are columns). */
function columns(target: Target): Target {
  return Object.fromEntries(Object.entries(target).filter(([key]) => !key.startsWith("@")));
}

/** Dataverse's naming convention for the primary id: `<table>id`, and `activityid` for activity tables. */
function primaryIdOf(table: string): string {
  return isActivityTable(table) ? "activityid" : `${table}id`;
}

function keyIdentity(key: Record<string, unknown>): string {
  const normalize = (v: unknown) => (typeof v === "string" ? v.toLowerCase() : v);
  return JSON.stringify(Object.keys(key).sort().map((k) => [k.toLowerCase(), normalize(key[k])]));
}

function json(status: number, body: unknown): EmuResponse {
  return {
    status,
    headers: { "content-type": "application/json; odata.metadata=minimal", "odata-version": "4.0" },
    body: JSON.stringify(body),
  };
}

function noContent(): EmuResponse {
  return { status: 204, headers: { "odata-version": "4.0" } };
}
