/** What the route modules share: the parts of one emulator and its resolved choices. */
import type { BlobStore } from "./blobs.js";
import type { Executions } from "./executions.js";
import type { Queues } from "./queues.js";
import { FinopsFault, type FinopsJob, type FinopsProject, type InferredChoices } from "./types.js";

export interface FoRequest {
  method: string;
  /** The path without the optional `/<lang>/` segment, e.g. `/api/connector/dequeue/%7B…%7D`. */
  path: string;
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
  /** The caller's app id (`appid`/`azp` of its token). */
  clientId: string;
}

export interface FoContext {
  origin: string;
  now(): number;
  choices: Required<InferredChoices>;
  allowedAppIds?: string[];
  httpDownloadLocation: boolean;
  queues: Queues;
  executions: Executions;
  blobs: BlobStore;
  projects: Map<string, FinopsProject>;
}

export const DEFAULT_CHOICES: Required<InferredChoices> = {
  enqueueAnswer: "quoted",
  unknownActivityStatus: 400,
  notAuthorizedStatus: 403,
  staleAck: "reject",
  freshCorrelationIdOnRedelivery: false,
  executionErrorsAs: "string",
  csvExportAs: "file",
  errorKeysEmptyPolls: 1,
  sasLifetimeMs: 60 * 60 * 1000,
};

/** The job for an activity id in a path, checked against its authorization policy. */
export function authorizedJob(ctx: FoContext, rawId: string, clientId: string): FinopsJob {
  const job = ctx.queues.job(rawId);
  if (!job || job.enabled === false) {
    throw new FinopsFault(ctx.choices.unknownActivityStatus, `No enabled recurring data job has the activity ID '${safeId(rawId)}'.`);
  }
  const policy = job.allowedAppIds ?? ctx.allowedAppIds;
  if (policy && !policy.some((id) => id.toLowerCase() === clientId.toLowerCase())) {
    throw new FinopsFault(ctx.choices.notAuthorizedStatus, `The application '${clientId}' is not enabled on the authorization policy of the recurring data job '${job.activityId}'.`);
  }
  return job;
}

/** The package API checks the *Microsoft Entra applications* registration (the emulator's `allowedAppIds`). */
export function authorizeApp(ctx: FoContext, clientId: string): void {
  if (ctx.allowedAppIds && !ctx.allowedAppIds.some((id) => id.toLowerCase() === clientId.toLowerCase())) {
    throw new FinopsFault(ctx.choices.notAuthorizedStatus, `The application '${clientId}' is not registered in Microsoft Entra applications.`);
  }
}

function safeId(raw: string): string {
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // shown as given
  }
  return decoded.replace(/[^\w{}%-]/g, "").slice(0, 60);
}
