import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import type { RequestBudget } from "../../../shared/dataverse/dataverseTransport.js";
import { FakeClock, scriptedFetch, type Step } from "../http/fakes.js";

export const instanceUrl = "https://org.crm4.dynamics.com";
export const root = `${instanceUrl}/api/data/v9.2/`;
export const guid = (n: number) => `00000000-0000-0000-0000-${String(n).padStart(12, "0")}`;

/** A client over a scripted fetch and a fake clock, with jitter switched off. */
export function clientWith(steps: Step[], options: { bulkSize?: number; maxConcurrency?: number; budget?: RequestBudget; lanes?: number } = {}) {
  const fetch = scriptedFetch(steps);
  const clock = new FakeClock();
  const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch, clock, random: () => 0, ...options });
  return { client, fetch, clock };
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
