import { createHmac } from "node:crypto";
import type { Settings } from "../config/settings.js";

/**
 * A registered tenant's webhook keys, derived from the deployment's own (HMAC-SHA256 over the
 * tenant id and the key's purpose): different for every tenant, never stored, and the same on
 * every instance. Only the WebhookKey style (`?code=`, DATAVERSE_WEBHOOK_KEY) and the app's signed
 * notices (APP_WEBHOOK_SECRET) have per-tenant keys; the HttpHeader and HMAC styles stay the
 * `default` tenant's (docs/multi-tenant.md).
 */
export function tenantWebhooks(base: Settings["webhooks"], tenant: string): Settings["webhooks"] {
  const derive = (key: string | undefined, purpose: string) =>
    key ? createHmac("sha256", key).update(`d365-sync tenant ${tenant} ${purpose}`).digest("base64url") : undefined;
  const dataverseKey = derive(base.dataverseKey, "dataverse-webhook");
  const appSecret = derive(base.appSecret, "app-webhook");
  return { ...(dataverseKey ? { dataverseKey } : {}), ...(appSecret ? { appSecret } : {}) };
}
