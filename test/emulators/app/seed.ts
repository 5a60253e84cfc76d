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
};
