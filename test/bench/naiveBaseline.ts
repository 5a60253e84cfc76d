import { loadSettings } from "../../shared/config/settings.js";
import { createDataverseTokenProvider } from "../../shared/dataverse/index.js";
import { contactBody } from "./benchData.js";

export interface NaiveResult {
  records: number;
  seconds: number;
  recordsPerSecond: number;
  requests: number;
  throttled: number;
  waitedMs: number;
}

/**
 * The integration users hand-write today: one POST per record, one after another, sleeping on a
 * 429 for what Retry-After says (the emulator's real-time figure when it runs time-scaled) and
 * trying again. Stops after `maxRecords` or `maxSeconds`, whichever comes first: it is sequential,
 * so its rate is steady and a short run measures it.
 */
export async function runNaiveBaseline(env: Record<string, string>, maxRecords: number, maxSeconds: number): Promise<NaiveResult> {
  const settings = loadSettings(env);
  const d = settings.dynamics;
  const tokens = createDataverseTokenProvider({ instanceUrl: d.instanceUrl, tenantId: d.tenantId, clientId: d.clientId, authorityHost: d.authorityHost, clientSecret: d.credential.secret, credential: "secret" });
  const url = `${d.instanceUrl.replace(/\/$/, "")}/api/data/v9.2/contacts`;
  let requests = 0;
  let throttled = 0;
  let waitedMs = 0;
  let records = 0;
  const started = performance.now();
  const deadline = started + maxSeconds * 1000;
  while (records < maxRecords && performance.now() < deadline) {
    const res = await fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${await tokens.getToken()}`, "Content-Type": "application/json", Accept: "application/json", "OData-Version": "4.0" },
      body: JSON.stringify({ ...contactBody(records), hlf_mentorid: `naive-${records}` }),
    });
    requests += 1;
    await res.arrayBuffer();
    if (res.status === 429) {
      throttled += 1;
      const scaled = Number(res.headers.get("x-emulator-retry-after-ms"));
      const wait = Number.isFinite(scaled) && scaled > 0 ? scaled : Number(res.headers.get("retry-after") ?? 1) * 1000;
      waitedMs += wait;
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    if (res.status >= 300) throw new Error(`naive baseline: POST contacts answered ${res.status}`);
    records += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  return { records, seconds, recordsPerSecond: records / seconds, requests, throttled, waitedMs };
}
