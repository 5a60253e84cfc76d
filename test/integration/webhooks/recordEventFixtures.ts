import functions from "@azure/functions";
import { expect } from "vitest";
import { recordEventWorker } from "../../../functions/queueWorkers.js";
import type { Clock, QueueMessage, WorkQueue } from "../../../shared/ports.js";
import { setServices } from "../../../shared/runtime/services.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";
import { GROUPS, groupId, mentorId, mentorRecord } from "../../bench/benchData.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";

const { InvocationContext } = functions;

let started: SyncHarness | undefined;

/** Stops the harness `editedMentors` started last and forgets the services the worker found (for afterEach). */
export async function stopEdited(): Promise<void> {
  setServices(undefined);
  await started?.stop();
  started = undefined;
}

/** `n` mentors synced once (each linked to its contact), then edited in Dataverse by a person, with a notice of each edit. */
export async function editedMentors(n: number, clock: Clock): Promise<{ h: SyncHarness; events: RecordEventMessage[]; valueOf: (i: number) => string }> {
  const h = (started = await startSyncHarness({ seed: false, clock }));
  for (let g = 0; g < GROUPS; g++) h.stack.app.put("group", groupId(g), { name: `Group ${g}`, region: `Region ${g % 4}` });
  for (let i = 0; i < n; i++) h.stack.app.put("mentor", mentorRecord(i).id, mentorRecord(i).data);
  expect((await h.cycle()).status).toBe("succeeded");
  const contactOf = new Map(h.stack.dataverse.rows("contact").map((r) => [String(r.hlf_mentorid), String(r.contactid)]));
  const valueOf = (i: number) => `Edited${i}`;
  const events: RecordEventMessage[] = [];
  for (let i = 0; i < n; i++) {
    const id = contactOf.get(mentorId(i))!;
    h.stack.dataverse.ctx.ops.update("contact", id, { firstname: valueOf(i) }, h.stack.person.userId);
    events.push({ mapping: "mentors", side: "dataverse", id, message: "Update", receivedAt: new Date(clock.now()).toISOString() });
  }
  return { h, events, valueOf };
}

/** The app writes of each mentor since `since`, by mentor id. */
export function writesPerMentor(h: SyncHarness, since: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of h.appWrites(since)) {
    const id = /^\/sync\/mentor\/([^/?]+)/.exec(w.path)?.[1];
    if (id) out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/** Mentor `i`'s link without the app version (as links stored before it was kept): a notice of it reads the app record. */
export async function withoutAppVersion(h: SyncHarness, i: number): Promise<void> {
  const link = (await h.services.state.getLinkByApp("mentors", mentorId(i)))!;
  await h.services.state.putLink({ ...link, appVersion: undefined });
}

const context = (dequeueCount: number) => new InvocationContext({ functionName: "recordEventWorker", triggerMetadata: { dequeueCount } });

/** What the host does: the trigger message first, the handler, then the trigger completed (or left on a throw). */
export async function deliver<T>(queue: WorkQueue<T>): Promise<{ trigger?: QueueMessage<T>; error?: unknown }> {
  const [trigger] = await queue.receive(1, 30_000);
  if (!trigger) return {};
  try {
    await recordEventWorker(trigger.body, context(trigger.dequeueCount));
    await queue.complete(trigger);
    return { trigger };
  } catch (error) {
    return { trigger, error };
  }
}
