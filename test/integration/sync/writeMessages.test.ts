import { afterEach, describe, expect, it } from "vitest";
import { encodeQueueMessage, MAX_QUEUE_MESSAGE_CHARS } from "../../../shared/state/queueMessages.js";
import { writeOpsOf } from "../../../shared/sync/writeOps.js";
import { demoConfig, startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { addMentors, contactsByMentorId } from "./faultFixtures.js";

describe("write messages", () => {
  let h: SyncHarness;
  afterEach(async () => h?.stop());

  it("carries a large chunk compressed, split so no message exceeds the queue limit, and every record lands once", async () => {
    // Prepare: 1,000 new mentors with chunkSize 1,000: one chunk that does not fit one message even compressed.
    const config = demoConfig();
    h = await startSyncHarness({ config: { ...config, options: { ...(config.options ?? {}), chunkSize: 1000 } } });
    const added = addMentors(h, 1000);
    await h.cycle({ mapping: "groups" });
    const { engine, queues } = h.services;
    await engine.startRuns({ mapping: "mentors", mode: "delta", dryRun: false, trigger: "cli" });
    const [runMsg] = await queues.runs.receive(1, 60_000);

    // Act
    await engine.handleRun(runMsg.body);
    const messages = await queues.dataverseWrites.receive(32, 60_000);
    for (const m of messages) await engine.handleWrite(m.body);

    // Assess: a few compressed messages (100 per message before), each under the limit, all ops once.
    expect(messages.length).toBeGreaterThan(1);
    expect(messages.length).toBeLessThanOrEqual(4);
    expect(messages.some((m) => m.body.opsGz && m.body.ops.length === 0)).toBe(true);
    for (const m of messages) expect(encodeQueueMessage(m.body, "dataverse-writes").length).toBeLessThanOrEqual(MAX_QUEUE_MESSAGE_CHARS);
    const appIds = messages.flatMap((m) => writeOpsOf(m.body).map((op) => op.appId));
    expect(new Set(appIds).size).toBe(appIds.length);
    const contacts = contactsByMentorId(h);
    expect(added.every((id) => contacts.get(id) === 1)).toBe(true);
    expect(await h.services.state.countLinks("mentors")).toBeGreaterThanOrEqual(1000);
  });
});
