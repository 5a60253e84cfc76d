import { z } from "zod";
import type { RecordEventMessage } from "../sync/writeOps.js";
import { jsonError, type ApiRequest, type ApiResponse } from "./apiTypes.js";
import type { WebhookServices } from "./dataverseWebhookApi.js";
import { enqueueEvents } from "./enqueueEvents.js";
import { parseJsonBody, readWebhookBody, webhookBodyLimit } from "./webhookBody.js";
import { signatureMatches } from "./webhookSignature.js";

export const APP_TIMESTAMP_HEADER = "x-sync-timestamp";
export const APP_SIGNATURE_HEADER = "x-sync-signature";
/** Notices signed further than this from our clock, in either direction, are refused (replays, skew). */
export const APP_REPLAY_WINDOW_MS = 5 * 60_000;

const Notice = z.strictObject({
  entity: z.string().min(1),
  ids: z.array(z.string().min(1).max(256)).min(1).max(1000),
});

/**
 * `X-Sync-Timestamp`: unix time in seconds (digits, as most signing schemes send) or an ISO 8601
 * date-time with a zone. Milliseconds-since-epoch are not accepted: they would read as a far future.
 */
export function parseSyncTimestamp(raw: string): number | undefined {
  const v = raw.trim();
  if (/^\d{1,12}$/.test(v)) return Number(v) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

const unauthorized = (message: string): ApiResponse => jsonError(401, "UNAUTHORIZED", message);

/**
 * POST /api/webhooks/app — the app's signed change notice `{"entity","ids":[…]}`. The signature is
 * HMAC-SHA256 over `<X-Sync-Timestamp as sent>.<raw body>` with APP_WEBHOOK_SECRET, sent as
 * `X-Sync-Signature: sha256=<hex>`. One RecordEventMessage per (mapping, distinct id); the worker
 * re-reads the record fresh, so a notice carries no data and replays of an old one change nothing.
 */
export async function appWebhookApi(req: ApiRequest, s: WebhookServices): Promise<ApiResponse> {
  const secret = s.settings.webhooks.appSecret;
  if (!secret) {
    s.logger.warn("App webhook refused: APP_WEBHOOK_SECRET is not set");
    return jsonError(401, "WEBHOOK_AUTH_NOT_CONFIGURED", "no webhook authentication is configured: set APP_WEBHOOK_SECRET");
  }
  const body = await readWebhookBody(req, webhookBodyLimit(s.config.options.webhookMaxBodyBytes));
  if (!body.ok) return body.response;
  const timestamp = req.headers.get(APP_TIMESTAMP_HEADER);
  const signature = req.headers.get(APP_SIGNATURE_HEADER);
  if (!timestamp || !signature) return unauthorized("send the X-Sync-Timestamp and X-Sync-Signature headers");
  if (!/^sha256=[0-9a-f]{64}$/i.test(signature.trim()) || !signatureMatches(signature, secret, `${timestamp}.${body.text}`)) {
    s.logger.warn("App webhook refused: bad signature");
    return unauthorized("X-Sync-Signature is not sha256=<hex HMAC-SHA256 of '<X-Sync-Timestamp>.<raw body>'> with the app webhook secret");
  }
  const signedAt = parseSyncTimestamp(timestamp);
  if (signedAt === undefined) return unauthorized("X-Sync-Timestamp must be unix seconds or an ISO 8601 date-time with a zone");
  if (Math.abs(s.clock.now() - signedAt) > APP_REPLAY_WINDOW_MS) {
    return unauthorized(`X-Sync-Timestamp is outside the ${APP_REPLAY_WINDOW_MS / 60_000}-minute replay window of the server's clock`);
  }
  const json = parseJsonBody(body.text);
  if (!json.ok) return json.response;
  const notice = Notice.safeParse(json.value);
  if (!notice.success) {
    const problems = notice.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`);
    return jsonError(400, "INVALID_REQUEST", `expected {"entity": "<app entity>", "ids": ["…" (1..1000)]}: ${problems.join("; ")}`, { problems });
  }
  const { entity, ids } = notice.data;
  // Activity mappings ("kind": "activity") take the app's notices too: "Import to Dynamics 365" at once.
  const all = [...s.config.mappings, ...(s.config.activities ?? [])];
  const mappings = all.filter((m) => m.app.entity === entity).map((m) => m.name);
  if (!mappings.length) {
    const entities = [...new Set(all.map((m) => m.app.entity))];
    return jsonError(422, "UNMAPPED_ENTITY", `no mapping syncs the app entity "${entity}"; mapped entities: ${entities.join(", ")}`, { entities });
  }
  const unique = [...new Set(ids)];
  const receivedAt = new Date(s.clock.now()).toISOString();
  const events = mappings.flatMap((mapping) => unique.map((id): RecordEventMessage => ({ mapping, side: "app", id, receivedAt })));
  const failed = await enqueueEvents(s.queues.recordEvents, events, s.logger);
  if (failed) return failed;
  s.logger.info("App webhook accepted", { entity, mappings, count: unique.length });
  return { status: 202, jsonBody: { accepted: unique.length } };
}
