import { primaryIdOf } from "../config/mapping.js";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { jsonError, secretMatches, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import type { WebhookServices } from "./dataverseWebhookApi.js";
import { enqueueEvents } from "./enqueueEvents.js";
import { recordMessageOf } from "./remoteExecutionContext.js";
import { GUID, isPlainObject, parseJsonBody, readWebhookBody, webhookBodyLimit } from "./webhookBody.js";

/**
 * The row the Power Automate Dataverse trigger ("When a row is added, modified or deleted") hands
 * to an HTTP action: the row's columns, possibly wrapped as `{"body": {…}}` when the flow passes the
 * whole trigger output. Returns the row object or undefined.
 */
export function unwrapFlowRow(value: unknown, primaryId: string): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) return undefined;
  if (!(primaryId in value) && isPlainObject(value.body)) return value.body;
  return value;
}

/**
 * POST /api/inbound/dataverse/{mapping} — the Kentico pattern: a Power Automate flow posts the
 * changed row. Authenticated with DATAVERSE_WEBHOOK_KEY (`x-functions-key` header or `?code=`).
 * Only the row's primary id is used: the worker re-reads the row and compares it with the last
 * synced base, so exactly the changed mapped fields reach the app, whatever the flow sent.
 */
export async function powerAutomateApi(req: ApiRequest, s: WebhookServices): Promise<ApiResponse> {
  const key = s.settings.webhooks.dataverseKey;
  if (!key) {
    s.logger.warn("Power Automate inbound refused: DATAVERSE_WEBHOOK_KEY is not set");
    return jsonError(401, "WEBHOOK_AUTH_NOT_CONFIGURED", "no webhook authentication is configured: set DATAVERSE_WEBHOOK_KEY");
  }
  if (!secretMatches(req.headers.get("x-functions-key") ?? req.query.get("code"), key)) {
    s.logger.warn("Power Automate inbound refused: authentication failed");
    return jsonError(401, "UNAUTHORIZED", "missing or wrong key: send DATAVERSE_WEBHOOK_KEY in the x-functions-key header or the code query parameter");
  }
  const name = req.params.mapping ?? "";
  const mapping = s.config.mappings.find((m) => m.name === name);
  if (!mapping) {
    const known = s.config.mappings.map((m) => m.name);
    return jsonError(404, "UNKNOWN_MAPPING", `unknown mapping "${name}"; known mappings: ${known.join(", ")}`, { known });
  }
  const body = await readWebhookBody(req, webhookBodyLimit(s.config.options.webhookMaxBodyBytes));
  if (!body.ok) return body.response;
  const json = parseJsonBody(body.text);
  if (!json.ok) return json.response;
  const primaryId = primaryIdOf(mapping);
  const row = unwrapFlowRow(json.value, primaryId);
  if (!row) return jsonError(400, "INVALID_REQUEST", `the body must be the Dataverse row as a JSON object (or {"body": <row>})`);
  const id = row[primaryId];
  if (typeof id !== "string" || !GUID.test(id.trim())) {
    return jsonError(400, "MISSING_PRIMARY_ID", `the row has no ${primaryId} GUID: add the primary id column of ${mapping.dataverse.table} to the flow's body`);
  }
  const message = typeof row.SdkMessage === "string" ? recordMessageOf(row.SdkMessage) : undefined;
  const correlationId = req.headers.get("x-ms-client-tracking-id") ?? req.headers.get("x-ms-workflow-run-id") ?? undefined;
  const event: RecordEventMessage = {
    mapping: mapping.name, side: "dataverse", id: id.trim().toLowerCase(), receivedAt: new Date(s.clock.now()).toISOString(),
    ...(message ? { message } : {}), ...(correlationId ? { correlationId } : {}),
  };
  const failed = await enqueueEvents(s.queues.recordEvents, [event], s.logger);
  if (failed) return failed;
  s.logger.info("Power Automate inbound accepted", { mapping: mapping.name, id: event.id, message, correlationId });
  return { status: 202, jsonBody: { status: "accepted" } };
}
