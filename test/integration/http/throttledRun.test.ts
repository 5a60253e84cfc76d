import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import type { Clock } from "../../../shared/ports.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { contact, contactIdOf, editDataverse, mark, writesSince } from "../sync/syncFixtures.js";

/**
 * Issue #19: a Retry-After longer than a call may wait (1e9 seconds, an HTTP date a day ahead) used
 * to make a run sleep for it or hang. Now the call fails as RETRY_AFTER_TOO_LONG, the run ends with
 * the records pending, and a later run syncs them once the peer behaves.
 */

/** Sleeps pass at once and are summed, so a test sees how long the run would have slept. */
function testClock(): Clock & { advance(ms: number): void; slept: () => number } {
  let offset = 0;
  let slept = 0;
  return {
    now: () => Date.now() + offset,
    sleep: async (ms: number) => {
      offset += Math.max(0, ms);
      slept += Math.max(0, ms);
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    advance: (ms: number) => void (offset += ms),
    slept: () => slept,
  };
}

const HOUR = 3_600_000;

describe("a run throttled with a Retry-After longer than it may wait", () => {
  let h: SyncHarness;
  let clock: ReturnType<typeof testClock>;
  afterEach(async () => h?.stop());

  async function start(): Promise<void> {
    clock = testClock();
    h = await startSyncHarness({ clock });
    await h.cycle();
  }

  it("Dataverse answers writes 429 with Retry-After 1e9: the run ends, the record stays pending, a later run syncs it", async () => {
    // Prepare
    await start();
    h.stack.app.patch("mentor", "m-0002", { firstName: "Olav" });
    for (const [method, path] of [["POST", "$batch"], ["POST", "UpdateMultiple"], ["PATCH", "contacts"]] as const) {
      h.stack.dataverse.faults.add({ method, path, status: 429, code: "0x80072322", headers: { "retry-after": "1e9" }, count: Infinity });
    }
    const before = clock.slept();

    // Act
    const throttled = await h.cycle();

    // Assess
    expect(throttled.status).toBe("completed_with_failures");
    expect(throttled.failures).toEqual([expect.objectContaining({ mapping: "mentors", code: ErrorCodes.RetryAfterTooLong })]);
    expect(contact(h, contactIdOf(2)).firstname).not.toBe("Olav");
    expect(clock.slept() - before).toBeLessThan(HOUR);
    expect(await h.services.state.listDeadLetters({ mapping: "mentors" })).toEqual([expect.objectContaining({ code: ErrorCodes.RetryAfterTooLong })]);

    h.stack.dataverse.faults.clear();
    clock.advance(2 * HOUR);
    await h.cycle();

    expect(contact(h, contactIdOf(2)).firstname).toBe("Olav");
    expect(await h.services.state.listDeadLetters({ mapping: "mentors" })).toEqual([]);
  });

  it("the app answers a PATCH 429 until a date a day ahead: nothing is written, the run ends, a later run syncs it", async () => {
    await start();
    editDataverse(h, "contact", contactIdOf(1), { hlf_score: 77 });
    const tomorrow = new Date(clock.now() + 24 * HOUR).toUTCString();
    h.stack.app.failNext({ method: "PATCH", status: 429, headers: { "retry-after": tomorrow }, count: Infinity });
    const at = mark(h);
    const before = clock.slept();

    const throttled = await h.cycle();

    expect(throttled.status).toBe("completed_with_failures");
    expect(throttled.failures).toEqual([expect.objectContaining({ code: ErrorCodes.RetryAfterTooLong })]);
    expect(writesSince(h, at).app).toEqual(["PATCH /sync/mentor/m-0001"]);
    expect(h.appWrites(at.app)).toEqual([]);
    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).not.toBe(77);
    expect(clock.slept() - before).toBeLessThan(HOUR);

    h.stack.app.clearFaults();
    clock.advance(2 * HOUR);
    await h.cycle();

    expect(h.stack.app.get("mentor", "m-0001")!.data!.score).toBe(77);
  });
});
