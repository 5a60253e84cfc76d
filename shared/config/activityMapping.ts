import { z } from "zod";
import { AppFieldName, FieldMapping, LogicalName } from "./mapping.js";

/**
 * `"kind": "activity"` mappings (product.md, Activities): the app's append-only activities written
 * to Dataverse activity tables, each regarding its contact. Facts: finops-activities-tenants.md part 2.
 */

/** Party roles and their ParticipationTypeMask values. */
export const PARTY_ROLES = { from: 1, to: 2, cc: 3, bcc: 4, required: 5, optional: 6, organizer: 7 } as const;
export type PartyRole = keyof typeof PARTY_ROLES;

/** The standard activity tables: entity set, the party roles each allows, and how `complete` closes it. */
export const STANDARD_ACTIVITIES: Record<string, { entitySet: string; roles: PartyRole[]; close: { state: number; status: number } }> = {
  phonecall: { entitySet: "phonecalls", roles: ["from", "to"], close: { state: 1, status: 2 } }, // Completed, Made
  email: { entitySet: "emails", roles: ["from", "to", "cc", "bcc"], close: { state: 1, status: 3 } }, // Completed, Sent
  task: { entitySet: "tasks", roles: [], close: { state: 1, status: 5 } },
  appointment: { entitySet: "appointments", roles: ["required", "optional", "organizer"], close: { state: 1, status: 3 } },
};

/** A custom activity table is named `<publisher prefix>_<name>`. */
export const CUSTOM_TABLE = /^[a-z][a-z0-9]*_[a-z0-9_]+$/;

const Guid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "a GUID");

export const ActivityParty = z.strictObject({
  role: z.enum(Object.keys(PARTY_ROLES) as [PartyRole, ...PartyRole[]]).describe("from, to, cc, bcc, required, optional or organizer."),
  userEmailField: AppFieldName.optional().describe("App field holding one e-mail address, resolved to a Dataverse user."),
  userEmailsField: AppFieldName.optional().describe("App field holding a list of e-mail addresses, each resolved to a Dataverse user."),
  regarding: z.literal(true).optional().describe("The activity's contact (the regarding record) takes this role."),
}).describe("One party of the activity: users by e-mail address, or the regarding contact.");
export type ActivityParty = z.infer<typeof ActivityParty>;

export const ActivityType = z.strictObject({
  entitySet: LogicalName.describe("Entity set of the activity table, e.g. phonecalls."),
  table: LogicalName.describe("phonecall, email, task, appointment, or a custom activity table (<prefix>_<name>)."),
  complete: z.boolean().default(false).describe("Close the activity after creating it (phone call Made, e-mail Sent, task/appointment Completed)."),
  close: z.strictObject({ state: z.number().int().min(0), status: z.number().int().min(0) }).optional()
    .describe("The statecode/statuscode that closes it; required with complete for a custom table."),
  fields: z.array(FieldMapping).default([]).describe("Fields of this type (to-dataverse)."),
  parties: z.array(ActivityParty).default([]),
  mapper: z.string().min(1).optional().describe("A record mapper registered in code that builds (or adds to) the body, e.g. for a custom table."),
}).describe("How one value of the app's type field becomes a Dataverse activity.");
export type ActivityType = z.infer<typeof ActivityType>;

export const ActivityMapping = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, "a name of letters, digits, '-' and '_', starting with a letter"),
  kind: z.literal("activity"),
  app: z.strictObject({
    entity: z.string().min(1).describe("The app's activity entity (append-only)."),
    typeField: AppFieldName.describe("The app field whose value picks the entry of types."),
  }),
  regarding: z.strictObject({
    mapping: z.string().min(1).describe("The contacts mapping whose links resolve the contact."),
    appField: AppFieldName.describe("The app field holding the contact's app id."),
  }),
  owner: z.union([z.strictObject({ systemuser: Guid }), z.strictObject({ team: Guid })]).optional()
    .describe("Default owner: {\"systemuser\": guid} or {\"team\": guid}; absent = the integration user."),
  types: z.record(z.string().min(1), ActivityType).describe("App type value -> activity table."),
}).describe("An activity mapping: app activities -> Dataverse activity tables, regarding their contact.");
export type ActivityMapping = z.infer<typeof ActivityMapping>;

const quote = (s: string) => JSON.stringify(s);

/**
 * What zod cannot check in an activity mapping at `mappings[index]`: the type tables, the party
 * roles each allows, the regarding mapping. `recordMappings` are the names of the record mappings.
 */
export function checkActivityMapping(m: ActivityMapping, at: string, recordMappings: ReadonlySet<string>, recordMappers: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  if (!recordMappings.has(m.regarding.mapping)) {
    problems.push(`${at}.regarding.mapping: expected the name of a mapping in this file (${[...recordMappings].join(", ") || "none"}); got ${quote(m.regarding.mapping)}`);
  }
  for (const [value, t] of Object.entries(m.types)) {
    const tAt = `${at}.types[${quote(value)}]`;
    const standard = STANDARD_ACTIVITIES[t.table];
    if (!standard && !CUSTOM_TABLE.test(t.table)) {
      problems.push(`${tAt}.table: expected an activity table (${Object.keys(STANDARD_ACTIVITIES).join(", ")}, or a custom activity table <prefix>_<name>); got ${quote(t.table)}`);
      continue;
    }
    if (standard && standard.entitySet !== t.entitySet) problems.push(`${tAt}.entitySet: the entity set of ${t.table} is ${quote(standard.entitySet)}; got ${quote(t.entitySet)}`);
    if (!standard && t.complete && !t.close) problems.push(`${tAt}.close: required with complete for the custom table ${quote(t.table)} (its closing statecode/statuscode)`);
    t.parties.forEach((p, i) => {
      const pAt = `${tAt}.parties[${i}]`;
      if (standard && !standard.roles.includes(p.role)) {
        problems.push(`${pAt}.role: ${t.table} allows ${standard.roles.length ? standard.roles.join(", ") : "no party roles"}; got ${quote(p.role)}`);
      }
      const sources = [p.userEmailField, p.userEmailsField, p.regarding].filter((s) => s !== undefined).length;
      if (sources !== 1) problems.push(`${pAt}: expected exactly one of userEmailField, userEmailsField or regarding; got ${sources}`);
    });
    if (t.mapper !== undefined && !recordMappers.has(t.mapper)) {
      problems.push(`${tAt}.mapper: expected a record mapper registered in code (${[...recordMappers].join(", ") || "none are registered"}); got ${quote(t.mapper)}`);
    }
  }
  return problems;
}
