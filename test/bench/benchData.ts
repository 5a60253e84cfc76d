import type { SeedRecord } from "../emulators/app/seed.js";

const statuses = ["active", "expired", "pending"] as const;
export const GROUPS = 10;

/** App-side mentor i (ids m-000001…), spread over the groups, every mapped field filled. */
export function mentorRecord(i: number): SeedRecord {
  const status = statuses[i % 3];
  return {
    id: mentorId(i),
    data: {
      firstName: `First${i}`, lastName: `Last${i % 997}`, email: `mentor${i}@example.org`,
      certificationStatus: status, certifiedUntil: status === "pending" ? null : "2027-06-30",
      score: i % 100, hourlyRate: 300 + (i % 50) * 2.5, isPublic: status === "active",
      groupId: groupId(i % GROUPS), lastContactAt: null, active: true,
    },
  };
}

export function mentorId(i: number): string {
  return `m-${String(i).padStart(7, "0")}`;
}

export function groupId(i: number): string {
  return `g-${String(i).padStart(3, "0")}`;
}

/** A contact as a hand-written integration or a bulk write would send it. */
export function contactBody(i: number): Record<string, unknown> {
  return {
    firstname: `First${i}`, lastname: `Last${i % 997}`, emailaddress1: `worker${i}@example.org`,
    hlf_mentorid: `w-${String(i).padStart(7, "0")}`, hlf_score: i % 100, hlf_ispublic: true,
  };
}
