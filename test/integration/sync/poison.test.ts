import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import { recordPoisonMessage } from "../../../shared/runtime/poison.js";
import { TelemetryEvents } from "../../../shared/names.js";
import type { WriteMessage } from "../../../shared/sync/writeOps.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

describe("messages the host moved to a poison queue", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("fails a poisoned run like any failed run: health counts it and it is reported", async () => {
    h = await startSyncHarness();
    const s = h.services;
    const [run] = await s.engine.startRuns({ mapping: "groups", mode: "delta", dryRun: false, trigger: "timer" });

    await recordPoisonMessage(s, "sync-runs-poison", { runId: run.runId, mapping: "groups", mode: "delta", dryRun: false, trigger: "timer" }, "handler crashed");

    expect(await s.state.getRun(run.runId)).toMatchObject({ status: "failed", error: expect.stringContaining("handler crashed") });
    expect(await s.state.getHealth("groups", "toDataverse")).toMatchObject({ consecutiveFailures: 1, lastRunStatus: "failed" });
    expect(h.telemetry.events.some((e) => e.name === TelemetryEvents.runCompleted && e.properties.status === "failed")).toBe(true);
  });

  it("turns every record of a poisoned write chunk into a replayable dead letter", async () => {
    h = await startSyncHarness();
    const s = h.services;
    const msg: WriteMessage = {
      runId: "00000000-0000-4000-8000-000000000001", mapping: "mentors", direction: "toDataverse",
      ops: [
        { kind: "update", appId: "m-0001", dataverseId: "c0a80001-0000-4000-8000-000000000001", values: { score: 1 }, base: { score: 1 }, attempt: 2 },
        { kind: "update", appId: "m-0002", dataverseId: "c0a80001-0000-4000-8000-000000000002", values: { score: 2 }, base: { score: 2 }, attempt: 0 },
      ],
    };

    await recordPoisonMessage(s, "dataverse-writes-poison", msg, "handler crashed");

    const letters = await s.state.listDeadLetters({ mapping: "mentors" });
    expect(letters.map((d) => [d.recordId, d.direction, d.code]).sort()).toEqual([
      ["m-0001", "toDataverse", ErrorCodes.AttemptsExhausted], ["m-0002", "toDataverse", ErrorCodes.AttemptsExhausted],
    ]);
    expect(letters.find((d) => d.recordId === "m-0001")!.payload).toMatchObject({ direction: "toDataverse", op: { appId: "m-0001", values: { score: 1 }, attempt: 0 } });
    expect(h.telemetry.events.filter((e) => e.name === TelemetryEvents.recordDeadLettered)).toHaveLength(2);
  });
});
