import type { ActivityMapping } from "../../../shared/config/activityMapping.js";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { demoConfig, type SyncHarness } from "../../support/syncHarness.js";

export const TEAM_ID = "3c6d0b51-1f2e-4d7a-b0c9-000000000001"; // the emulator's platform team
export const MARKETER = { id: "6a1b2c3d-0000-4000-8000-00000000a001", email: "marketer@contoso.example" };
export const COLLEAGUE = { id: "6a1b2c3d-0000-4000-8000-00000000a002", email: "colleague@contoso.example" };

/** The activity mapping of product.md (all four types), regarding the demo's mentors (contacts). */
export function activityMapping(overrides: Partial<ActivityMapping> = {}): Record<string, unknown> {
  const subject = { app: "subject", dataverse: "subject", type: "string" };
  const loggedAt = { app: "loggedAt", dataverse: "actualend", type: "datetime" };
  return {
    name: "activities", kind: "activity", app: { entity: "activity", typeField: "type" },
    regarding: { mapping: "mentors", appField: "mentorId" },
    owner: { team: TEAM_ID },
    types: {
      phonecall: { entitySet: "phonecalls", table: "phonecall", complete: true,
        fields: [subject, loggedAt, { app: "phoneNumber", dataverse: "phonenumber", type: "string" }],
        parties: [{ role: "from", userEmailField: "loggedBy" }, { role: "to", regarding: true }] },
      email: { entitySet: "emails", table: "email", complete: true, fields: [subject, loggedAt, { app: "body", dataverse: "description", type: "string" }],
        parties: [{ role: "from", userEmailField: "loggedBy" }, { role: "to", regarding: true }] },
      task: { entitySet: "tasks", table: "task", fields: [subject, { app: "due", dataverse: "scheduledend", type: "datetime" }] },
      appointment: { entitySet: "appointments", table: "appointment", fields: [subject, { app: "location", dataverse: "location", type: "string" }],
        parties: [{ role: "required", userEmailsField: "attendees" }, { role: "required", regarding: true }] },
    },
    ...overrides,
  };
}

/** The demo mapping file plus activity mappings. */
export function configWith(...activities: Record<string, unknown>[]): SyncConfigInput {
  const config = demoConfig();
  return { ...config, mappings: [...config.mappings, ...activities] } as SyncConfigInput;
}

/** Dataverse users the parties resolve to by e-mail address. */
export function addUsers(h: SyncHarness): void {
  for (const u of [MARKETER, COLLEAGUE]) h.stack.dataverse.insert("systemuser", { systemuserid: u.id, fullname: u.email, internalemailaddress: u.email });
}

export const contactRowIdOf = (h: SyncHarness, mentorId: string) => h.stack.dataverse.rows("contact").find((c) => c.hlf_mentorid === mentorId)?.contactid as string | undefined;

export const partiesOf = (h: SyncHarness, activityId: string) =>
  h.stack.dataverse.rows("activityparty").filter((p) => p._activityid_value === activityId)
    .map((p) => ({ mask: p.participationtypemask, party: p._partyid_value ?? null, address: p.addressused ?? null }));
