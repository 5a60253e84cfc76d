/**
 * Activity tables (finops-activities-tenants.md part 2): phonecall, email, task, appointment and one
 * custom activity table, each with primary id `activityid`, a `regardingobjectid` that binds through
 * both the entity-specific (`regardingobjectid_contact_<table>`) and the inherited
 * (`regardingobjectid_contact`) navigation names, an owner (`ownerid` / `ownerid_<table>`), and a
 * party list written only by deep insert (`<table>_activity_parties`). Added to every schema that
 * has a `contact` table.
 */
import { Codes, Errors } from "./dataverseErrors.js";
import type { RawColumn, RawTable } from "./platformTables.js";
import type { TableDef } from "./schema.js";
import { DataverseFault, type LookupValue } from "./types.js";

/** Which activity types a table is, and what it allows. */
export interface ActivityRules {
  /** Participation types (ParticipationTypeMask) its party list accepts. */
  partyTypes: number[];
  /**
   * Whether CreateMultiple/UpdateMultiple/UpsertMultiple are available. Documented only for task;
   * ⚠ inferred "no" for the others from their reference pages, so configurable: a schema file that
   * defines the table itself sets `"bulkMessages"`.
   */
  bulk: boolean;
}

/** The custom activity table used by tests (a page visit logged by marketing automation). */
export const CUSTOM_ACTIVITY = "new_pagevisit";

export const ActivityTables: Record<string, ActivityRules> = {
  phonecall: { partyTypes: [1, 2], bulk: false },
  email: { partyTypes: [1, 2, 3, 4], bulk: false },
  task: { partyTypes: [], bulk: true },
  appointment: { partyTypes: [5, 6, 7], bulk: false },
  // ⚠ Custom activity tables: party types and bulk support are inferred (custom tables support bulk messages).
  [CUSTOM_ACTIVITY]: { partyTypes: [1, 2], bulk: true },
};

const entitySets: Record<string, string> = { phonecall: "phonecalls", email: "emails", task: "tasks", appointment: "appointments", [CUSTOM_ACTIVITY]: "new_pagevisits" };

/** statecode / statuscode per type (part 2.3); appointment's are ⚠ assumed like recurringappointmentmaster. */
const states: Record<string, { state: [number, string, number][]; status: [number, string, number][] }> = {
  phonecall: { state: [[0, "Open", 1], [1, "Completed", 2], [2, "Canceled", 3]], status: [[1, "Open", 0], [2, "Made", 1], [3, "Canceled", 2], [4, "Received", 1]] },
  email: {
    state: [[0, "Open", 1], [1, "Completed", 2], [2, "Canceled", 5]],
    status: [[1, "Draft", 0], [2, "Completed", 1], [3, "Sent", 1], [4, "Received", 1], [5, "Canceled", 2], [6, "Pending Send", 1], [7, "Sending", 1], [8, "Failed", 0]],
  },
  task: {
    state: [[0, "Open", 2], [1, "Completed", 5], [2, "Canceled", 6]],
    status: [[2, "Not Started", 0], [3, "In Progress", 0], [4, "Waiting on someone else", 0], [7, "Deferred", 0], [5, "Completed", 1], [6, "Canceled", 2]],
  },
  appointment: {
    state: [[0, "Open", 1], [1, "Completed", 3], [2, "Canceled", 4], [3, "Scheduled", 5]],
    status: [[1, "Free", 0], [2, "Tentative", 0], [3, "Completed", 1], [4, "Canceled", 2], [5, "Busy", 3], [6, "Out of Office", 3]],
  },
  [CUSTOM_ACTIVITY]: { state: [[0, "Open", 1], [1, "Completed", 2], [2, "Canceled", 3]], status: [[1, "Open", 0], [2, "Completed", 1], [3, "Canceled", 2]] },
};

const extraColumns: Record<string, RawColumn[]> = {
  phonecall: [{ name: "phonenumber", type: "string", maxLength: 200 }, { name: "leftvoicemail", type: "boolean" }, { name: "directioncode", type: "boolean" }],
  email: [{ name: "directioncode", type: "boolean" }],
  task: [{ name: "percentcomplete", type: "int" }],
  appointment: [{ name: "location", type: "string", maxLength: 200 }, { name: "isalldayevent", type: "boolean" }],
  [CUSTOM_ACTIVITY]: [{ name: "new_url", type: "string", maxLength: 2000 }],
};

function activityTable(table: string): RawTable {
  const s = states[table];
  return {
    logicalName: table, entitySetName: entitySets[table], primaryId: "activityid", primaryName: "subject", changeTracking: true,
    bulkMessages: ActivityTables[table].bulk,
    columns: [
      { name: "subject", type: "string", maxLength: table === "email" ? 800 : 200 },
      { name: "description", type: "memo", maxLength: 100_000 },
      { name: "scheduledstart", type: "datetime" },
      { name: "scheduledend", type: "datetime" },
      { name: "actualend", type: "datetime" },
      { name: "actualdurationminutes", type: "int" },
      { name: "prioritycode", type: "choice", options: [{ value: 0, label: "Low" }, { value: 1, label: "Normal" }, { value: 2, label: "High" }] },
      ...extraColumns[table],
      { name: "regardingobjectid", type: "lookup", targets: ["contact"], navigationProperty: `regardingobjectid_contact_${table}`, navigationProperties: { contact: `regardingobjectid_contact_${table}` } },
      { name: "ownerid", type: "owner", targets: ["systemuser", "team"], navigationProperty: "ownerid" },
      { name: "statecode", type: "state", options: s.state.map(([value, label, defaultStatus]) => ({ value, label, defaultStatus })) },
      { name: "statuscode", type: "status", options: s.status.map(([value, label, state]) => ({ value, label, state })) },
    ],
    alternateKeys: [], rows: [],
  };
}

/** activityparty: read through RetrieveMultiple only; written through its activity's party list. */
function activityPartyTable(): RawTable {
  const activities = Object.keys(ActivityTables);
  return {
    logicalName: "activityparty", entitySetName: "activityparties", primaryId: "activitypartyid", primaryName: "addressused", ownership: "none", changeTracking: false,
    columns: [
      { name: "activityid", type: "lookup", targets: activities, navigationProperty: "activityid",
        navigationProperties: Object.fromEntries(activities.map((a) => [a, `activityid_${a}`])) },
      { name: "partyid", type: "lookup", targets: ["contact", "systemuser"], navigationProperty: "partyid",
        navigationProperties: { contact: "partyid_contact", systemuser: "partyid_systemuser" } },
      { name: "participationtypemask", type: "int" },
      { name: "addressused", type: "string", maxLength: 320 },
    ],
    alternateKeys: [], rows: [],
  };
}

/** The activity tables and activityparty, for a schema that has contacts. */
export function activityTables(): RawTable[] {
  return [...Object.keys(ActivityTables).map(activityTable), activityPartyTable()];
}

/** The inherited navigation names (from activitypointer), accepted next to the entity-specific ones. */
export function addInheritedNavigation(def: TableDef): void {
  if (!(def.logicalName in ActivityTables)) return;
  const regarding = def.columnMap.get("regardingobjectid")!;
  def.navMap.set("regardingobjectid_contact", { column: regarding, target: "contact" });
  def.navMap.set(`ownerid_${def.logicalName}`, { column: def.columnMap.get("ownerid")! });
}

export const isActivityTable = (table: string): boolean => table in ActivityTables;

/** One party from a deep insert, ready to store once its activity exists. */
export interface PartyInput {
  participationtypemask: number;
  party?: LookupValue;
  addressused?: string;
}

/**
 * Takes `<table>_activity_parties` out of a create body and checks it: the participation types the
 * table allows, one `partyid_*@odata.bind` or an `addressused` per party.
 */
export function takeParties(table: string, body: Record<string, unknown>, bind: (url: string, nav: string) => LookupValue): PartyInput[] | undefined {
  const nav = `${table}_activity_parties`;
  if (!(nav in body)) return undefined;
  const raw = body[nav];
  delete body[nav];
  if (!Array.isArray(raw)) throw Errors.payload(entitySets[table] ?? table, `A collection was expected for the navigation property '${nav}'.`);
  const allowed = ActivityTables[table]?.partyTypes ?? [];
  return raw.map((p, i) => {
    if (typeof p !== "object" || p === null) throw Errors.payload(entitySets[table], `${nav}[${i}] is not an activityparty object.`);
    const party = p as Record<string, unknown>;
    const mask = party.participationtypemask;
    if (typeof mask !== "number" || !allowed.includes(mask)) {
      throw new DataverseFault(400, Codes.optionOutOfRange, `A validation error occurred. The value ${String(mask)} of 'participationtypemask' on record of type 'activityparty' is outside the valid range for ${table} (${allowed.join(", ") || "none"}).`);
    }
    const out: PartyInput = { participationtypemask: mask };
    for (const [key, value] of Object.entries(party)) {
      if (key === "participationtypemask") continue;
      if (key === "addressused" && typeof value === "string") out.addressused = value;
      else if (/^partyid_(contact|systemuser)@odata\.bind$/.test(key) && typeof value === "string") out.party = bind(value, key.slice(0, key.indexOf("@")));
      else throw Errors.unknownProperty("activityparty", key);
    }
    if (!out.party && !out.addressused) throw Errors.validation(`${nav}[${i}] names neither a party (partyid_*@odata.bind) nor an addressused.`);
    return out;
  });
}

/** Dataverse refuses creating activity parties on their own (part 2.1). */
export function refuseDirectPartyCreate(table: string): void {
  if (table === "activityparty") throw new DataverseFault(400, "0x80040203", "The 'Create' method does not support entities of type 'activityparty'.");
}

/** Completed and canceled activities are read-only: only a state change (reopening) is accepted. ⚠ The exact error code is unknown. */
export function checkClosed(table: string, existing: Record<string, unknown>, body: Record<string, unknown>): void {
  if (!isActivityTable(table) || (existing.statecode !== 1 && existing.statecode !== 2)) return;
  const other = Object.keys(body).filter((k) => k !== "statecode" && k !== "statuscode" && !k.startsWith("@") && k !== "activityid");
  if (other.length) throw new DataverseFault(400, "0x80040203", `This ${table} is closed (statecode ${String(existing.statecode)}) and read-only: ${other.join(", ")} cannot be changed.`);
}
