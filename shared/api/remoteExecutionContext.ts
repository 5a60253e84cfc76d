import type { RecordEventMessage } from "../sync/writeOps.js";
import { GUID, isPlainObject } from "./webhookBody.js";

/** The parts of a Dataverse RemoteExecutionContext (dataverse-web-api.md §9) the receiver needs. */
export interface ExecutionContextSummary {
  messageName: string;
  primaryEntityName: string;
  primaryEntityId: string;
  organizationId: string;
  initiatingUserId?: string;
  userId?: string;
  correlationId?: string;
}

/** Messages that change a row; Upsert fires as Update for the worker (it re-reads either way). */
const MESSAGES: Record<string, NonNullable<RecordEventMessage["message"]>> = {
  create: "Create",
  update: "Update",
  upsert: "Update",
  delete: "Delete",
};

export const SUPPORTED_MESSAGES = ["Create", "Update", "Upsert", "Delete"] as const;

export function recordMessageOf(messageName: string): RecordEventMessage["message"] | undefined {
  return MESSAGES[messageName.toLowerCase()];
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const guid = (v: unknown): string | undefined => {
  const s = str(v);
  return s && GUID.test(s) ? s.toLowerCase() : undefined;
};

export type ContextParse = { ok: true; context: ExecutionContextSummary } | { ok: false; problems: string[] };

/**
 * Checks the identifying properties only: a truncated delivery (over 256 KB) has no
 * InputParameters or images, and the worker re-reads the row anyway.
 */
export function parseExecutionContext(body: unknown): ContextParse {
  if (!isPlainObject(body)) return { ok: false, problems: ["the body must be a JSON object"] };
  const problems: string[] = [];
  const messageName = str(body.MessageName);
  const primaryEntityName = str(body.PrimaryEntityName);
  const primaryEntityId = guid(body.PrimaryEntityId);
  const organizationId = guid(body.OrganizationId);
  if (!messageName) problems.push("MessageName is missing");
  if (!primaryEntityName) problems.push("PrimaryEntityName is missing");
  if (!primaryEntityId) problems.push(body.PrimaryEntityId === undefined ? "PrimaryEntityId is missing" : "PrimaryEntityId is not a GUID");
  if (!organizationId) problems.push(body.OrganizationId === undefined ? "OrganizationId is missing" : "OrganizationId is not a GUID");
  if (problems.length) return { ok: false, problems };
  return {
    ok: true,
    context: {
      messageName: messageName!, primaryEntityName: primaryEntityName!, primaryEntityId: primaryEntityId!, organizationId: organizationId!,
      initiatingUserId: guid(body.InitiatingUserId), userId: guid(body.UserId), correlationId: str(body.CorrelationId),
    },
  };
}
