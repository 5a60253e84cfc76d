import { afterEach, describe, expect, it } from "vitest";
import type { WorkQueue } from "../../../shared/ports.js";
import { RELIEVE_DEPTH } from "../../../shared/runtime/queuePump.js";
import { demoConfig, startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, contactsByMentorId, duplicatesOf } from "./faultFixtures.js";

/** The most messages a queue held at once, seen after every send. */
function watchDepth(queue: WorkQueue<unknown>): { max: number } {
  const seen = { max: 0 };
  const send = queue.send.bind(queue);
  queue.send = async (message, options) => {
    await send(message, options);
    seen.max = Math.max(seen.max, await queue.approximateCount());
  };
  return seen;
}

describe("a run larger than one page of the app's feed", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("writes page by page while it plans, so the queued writes stay few, and lands every record once", async () => {
    const config = demoConfig();
    h = await startSyncHarness({ config: { ...config, options: { ...(config.options ?? {}), chunkSize: 100 } } });
    await h.cycle({ mapping: "groups" });
    const added = addMentors(h, 5000);
    const depth = watchDepth(h.services.queues.dataverseWrites as WorkQueue<unknown>);

    const summary = await h.cycle({ mapping: "mentors" });

    expect(summary.status).toBe("succeeded");
    // 5,008 records in messages of 100 would be 51 queued messages if the whole plan came first;
    // page by page (1,000 records) with the writes applied in between, at most one page's worth plus
    // what relief leaves waiting is ever queued.
    expect(depth.max).toBeGreaterThan(0);
    expect(depth.max).toBeLessThanOrEqual(RELIEVE_DEPTH + 10);
    const contacts = contactsByMentorId(h);
    expect(duplicatesOf(contacts)).toEqual([]);
    for (const id of added) expect(contacts.get(id)).toBe(1);
  });
});
