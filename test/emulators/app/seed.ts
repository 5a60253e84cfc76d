/** Seed data of the peer-mentor demo; m-0001..m-0003 are also in the Dataverse emulator's seed (hlf_mentorid). */
export interface SeedRecord {
  id: string;
  data: Record<string, unknown>;
  updatedAt?: string;
  dataverseId?: string;
}

/** Records per entity name, written in order (groups before the mentors that refer to them). */
export type SeedData = Record<string, SeedRecord[]>;

const SEEDED_AT = "2026-01-05T08:00:00.000Z";

const mentor = (
  n: number, firstName: string, lastName: string, certificationStatus: string, certifiedUntil: string | null,
  score: number, hourlyRate: number, groupId: string | null, extra: Record<string, unknown> = {},
): SeedRecord => ({
  id: `m-${String(n).padStart(4, "0")}`,
  updatedAt: SEEDED_AT,
  data: {
    firstName, lastName,
    email: `${firstName}.${lastName}`.toLowerCase().replace(/[^a-z.]/g, "") + "@example.org",
    certificationStatus, certifiedUntil, score, hourlyRate,
    isPublic: certificationStatus === "active",
    groupId, lastContactAt: null, active: true,
    ...extra,
  },
});

export const demoSeed: SeedData = {
  group: [
    { id: "g-north", updatedAt: SEEDED_AT, data: { name: "North", region: "Nordland" } },
    { id: "g-south", updatedAt: SEEDED_AT, data: { name: "South", region: "Agder" } },
  ],
  mentor: [
    // m-0001..m-0003 carry the same values as the Dataverse seed, so a first sync links them without writes.
    mentor(1, "Ingrid", "Berg", "active", "2027-06-30", 87, 350.5, "g-north", { isPublic: true, lastContactAt: "2026-10-01T09:30:00Z" }),
    mentor(2, "Ole", "Hansen", "expired", "2026-01-31", 64, 300, "g-south", { isPublic: false }),
    mentor(3, "Sofie", "Lie", "pending", null, 0, 275.25, "g-north", { isPublic: false, lastContactAt: "2026-11-02T14:00:00Z" }),
    mentor(4, "Kari", "Johansen", "active", "2027-03-31", 92, 500, "g-south"),
    mentor(5, "Astrid", "Moen", "active", "2026-09-30", 71, 380, null),
    mentor(6, "Henrik", "Dahl", "expired", "2024-12-31", 55, 350, "g-north", { active: false }),
    mentor(7, "Maja", "Nilsen", "pending", null, 12, 390.75, "g-south"),
    mentor(8, "Jonas", "Kristiansen", "active", "2026-05-31", 80, 410, "g-north", { lastContactAt: "2025-12-18T14:30:00+01:00" }),
  ],
  // The activity feed (append-only): coordinators' logged calls and e-mails with mentors, synced by
  // examples/activities/sync.config.json. kari@hlf.example is a Dynamics user in the emulator's seed.
  activity: [
    { id: "act-0001", updatedAt: SEEDED_AT, data: { type: "phonecall", mentorId: "m-0001", subject: "Check-in after first session", phoneNumber: "+47 400 00 001", loggedBy: "kari@hlf.example", loggedAt: "2026-01-05T09:15:00Z" } },
    { id: "act-0002", updatedAt: SEEDED_AT, data: { type: "email", mentorId: "m-0001", subject: "Your certificate", body: "Your certificate is attached.", loggedBy: "kari@hlf.example", loggedAt: "2026-01-05T10:00:00Z" } },
    { id: "act-0003", updatedAt: SEEDED_AT, data: { type: "phonecall", mentorId: "m-0002", subject: "Certification expired: renewal", phoneNumber: "+47 400 00 002", loggedBy: "kari@hlf.example", loggedAt: "2026-01-05T11:30:00Z" } },
    { id: "act-0004", updatedAt: SEEDED_AT, data: { type: "email", mentorId: "m-0004", subject: "Welcome to the programme", body: "Welcome!", loggedBy: "volunteer@elsewhere.example", loggedAt: "2026-01-05T12:00:00Z" } },
  ],
};
