import { ErrorCodes } from "../errors.js";
import { ConfigError } from "../config/configError.js";
import type { SyncConfig } from "../config/mapping.js";
import { checkUrl } from "../config/settingRules.js";

/** A mapping's coordinators' webhook: the URL (a secret) and the setting that holds it (what logs name). */
export interface CoordinatorEndpoint {
  url: string;
  name: string;
}

/**
 * The coordinators' webhooks of the mappings that name one (`notify.webhookUrlSetting`), read from
 * the settings. An unset or malformed setting stops start-up, as any setting does, naming the
 * setting and the mapping and never the value.
 */
export function coordinatorEndpoints(config: Pick<SyncConfig, "mappings">, env: Record<string, string | undefined>): Record<string, CoordinatorEndpoint> {
  const problems: string[] = [];
  const endpoints: Record<string, CoordinatorEndpoint> = {};
  for (const m of config.mappings) {
    const setting = m.notify?.webhookUrlSetting;
    if (!setting) continue;
    const raw = env[setting]?.trim();
    if (!raw) {
      problems.push(`${setting}: required by mapping "${m.name}" (notify.webhookUrlSetting): the coordinators' incoming-webhook URL`);
      continue;
    }
    const checked = checkUrl(raw, { allowPath: true, allowQuery: true, loopbackHttp: true, secret: true });
    if ("problem" in checked) problems.push(`${setting} (mapping "${m.name}"): ${checked.problem}`);
    else endpoints[m.name] = { url: checked.value, name: `the coordinators' webhook of ${m.name} (${setting})` };
  }
  if (problems.length) throw new ConfigError(ErrorCodes.InvalidSetting, "Invalid settings", problems);
  return endpoints;
}
