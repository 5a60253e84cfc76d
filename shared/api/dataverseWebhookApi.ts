import { errorMessage } from "../errors.js";
import type { Services } from "../runtime/services.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import { enabledDataverseAuthStyles, matchDataverseAuth } from "./dataverseWebhookAuth.js";
import { ownIdentity } from "./dataverseIdentity.js";
import { capMetadata, enqueueEvents } from "./enqueueEvents.js";
import { parseExecutionContext, recordMessageOf, SUPPORTED_MESSAGES } from "./remoteExecutionContext.js";
import { parseJsonBody, readWebhookBody, webhookBodyLimit } from "./webhookBody.js";

export type WebhookServices = Pick<Services, "settings" | "config" | "queues" | "dataverse" | "clock" | "logger">;

const notConfigured = (): ApiResponse => jsonError(401, "WEBHOOK_AUTH_NOT_CONFIGURED",
  "no webhook authentication is configured: set DATAVERSE_WEBHOOK_KEY, DATAVERSE_WEBHOOK_HEADER or DATAVERSE_WEBHOOK_HMAC_SECRET");
const refused = (): ApiResponse => jsonError(401, "UNAUTHORIZED",
  "the webhook request did not carry a valid key, header, query-string value or signature");

/**
 * POST /api/webhooks/dataverse — a Dataverse service-endpoint webhook (RemoteExecutionContext).
 * Every check happens before anything is enqueued; an accepted delivery becomes one
 * RecordEventMessage per mapping of the table and is answered 202 at once (Dataverse waits 60 s
 * and retries only 502/503/504, so the re-read and the writes happen on the queue).
 */
export async function dataverseWebhookApi(req: ApiRequest, s: WebhookServices): Promise<ApiResponse> {
  if (!enabledDataverseAuthStyles(s.settings.webhooks).length) {
    s.logger.warn("Dataverse webhook refused: no webhook authentication is configured");
    return notConfigured();
  }
  const body = await readWebhookBody(req, webhookBodyLimit(s.config.options.webhookMaxBodyBytes));
  if (!body.ok) return body.response;
  const style = matchDataverseAuth(req, body.text, s.settings.webhooks);
  if (!style) {
    s.logger.warn("Dataverse webhook refused: authentication failed", { enabled: enabledDataverseAuthStyles(s.settings.webhooks) });
    return refused();
  }
  const json = parseJsonBody(body.text);
  if (!json.ok) return json.response;
  const parsed = parseExecutionContext(json.value);
  if (!parsed.ok) {
    return jsonError(400, "INVALID_EXECUTION_CONTEXT", `the body is not a Dataverse RemoteExecutionContext: ${parsed.problems.join("; ")}`, { problems: parsed.problems });
  }
  const ctx = parsed.context;
  const message = recordMessageOf(ctx.messageName);
  if (!message) {
    return jsonError(400, "UNSUPPORTED_MESSAGE", `MessageName "${ctx.messageName}" is not supported; register the step for ${SUPPORTED_MESSAGES.join(", ")}`);
  }
  const table = ctx.primaryEntityName.toLowerCase();
  const mappings = s.config.mappings.filter((m) => m.dataverse.table.toLowerCase() === table).map((m) => m.name);
  if (!mappings.length) {
    const tables = [...new Set(s.config.mappings.map((m) => m.dataverse.table))];
    return jsonError(422, "UNMAPPED_TABLE", `no mapping syncs the table "${ctx.primaryEntityName}"; mapped tables: ${tables.join(", ")}`, { tables });
  }
  let self;
  try {
    self = await ownIdentity(s);
  } catch (e) {
    // 503 is one of the statuses Dataverse tries once more.
    s.logger.error("Dataverse webhook: WhoAmI failed", { error: errorMessage(e) });
    return jsonError(503, "DATAVERSE_UNAVAILABLE", "the integration's own Dataverse identity could not be read; try again");
  }
  if (ctx.organizationId !== self.OrganizationId.toLowerCase()) {
    s.logger.warn("Dataverse webhook refused: another organization", { organizationId: ctx.organizationId });
    return jsonError(403, "FOREIGN_ORGANIZATION", `OrganizationId ${ctx.organizationId} is not the organization this app syncs with`);
  }
  const author = ctx.initiatingUserId ?? ctx.userId;
  if (author && author === self.UserId.toLowerCase()) {
    return { status: 202, jsonBody: { status: "ignored", reason: "echo of the integration's own write" } };
  }
  // Sender-chosen metadata: capped, so the notice always fits a queue message (enqueueEvents.ts).
  const correlationId = capMetadata(req.headers.get("x-ms-correlation-request-id") ?? ctx.correlationId);
  const receivedAt = new Date(s.clock.now()).toISOString();
  const events = mappings.map((mapping): RecordEventMessage =>
    ({ mapping, side: "dataverse", id: ctx.primaryEntityId, message, receivedAt, ...(correlationId ? { correlationId } : {}) }));
  const failed = await enqueueEvents(s.queues.recordEvents, events, s.logger);
  if (failed) return failed;
  s.logger.info("Dataverse webhook accepted", {
    mappings, id: ctx.primaryEntityId, message, correlationId, authStyle: style,
    truncated: req.headers.get("x-ms-dynamics-msg-size-exceeded") !== null,
  });
  return { status: 202, jsonBody: { status: "accepted" } };
}
