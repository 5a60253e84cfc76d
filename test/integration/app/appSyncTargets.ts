/**
 * The App Sync API servers the contract suites run against: the sample app (test/emulators/app)
 * and the example a team copies (examples/app-sync-server). Both serve the demo entities.
 */
import { startAppSyncServer } from "../../../examples/app-sync-server/src/server.js";
import type { EntityDefinitions } from "../../../examples/app-sync-server/src/fields.js";
import { demoSeed, startSampleApp, type SeedData } from "../../emulators/app/index.js";

export interface RunningTarget {
  /** APP_BASE_URL of the running server. */
  baseUrl: string;
  stop(): Promise<void>;
}

export interface TargetOptions {
  apiKey: string;
  seed: SeedData;
  basePath?: string;
  now?: () => number;
}

export interface AppSyncTarget {
  name: string;
  /** The sample app serves any entity name; the example only those it defines (404 otherwise). */
  servesAnyEntity: boolean;
  start(options: TargetOptions): Promise<RunningTarget>;
}

/** The demo entities in the example's terms (the sample app's demoEntities.ts, as a team would write them). */
export const demoEntityDefinitions: EntityDefinitions = {
  group: {
    name: { type: "string", nullable: false },
    region: { type: "string" },
  },
  mentor: {
    firstName: { type: "string" },
    lastName: { type: "string" },
    email: { type: "string" },
    certificationStatus: { type: "choice", values: ["active", "expired", "pending"], nullable: false },
    certifiedUntil: { type: "date" },
    score: { type: "number", integer: true },
    hourlyRate: { type: "money", precision: 2 },
    isPublic: { type: "boolean", nullable: false },
    groupId: { type: "lookup", entity: "group" },
    lastContactAt: { type: "datetime" },
    active: { type: "boolean", nullable: false },
  },
};

/** The demo seed plus a group whose id needs URL-encoding. */
export const contractSeed: SeedData = {
  group: [...demoSeed.group, { id: "a/b c", updatedAt: "2026-01-05T08:00:00.000Z", data: { name: "Slash", region: null } }],
  mentor: demoSeed.mentor,
};

export const appSyncTargets: AppSyncTarget[] = [
  {
    name: "the sample app",
    servesAnyEntity: true,
    start: (o) => startSampleApp({ apiKey: o.apiKey, seed: o.seed, basePath: o.basePath, now: o.now }),
  },
  {
    name: "the example server",
    servesAnyEntity: false,
    start: (o) => startAppSyncServer({ apiKey: o.apiKey, entities: demoEntityDefinitions, seed: o.seed, basePath: o.basePath, now: o.now }),
  },
];
