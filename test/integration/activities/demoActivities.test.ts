import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { SyncConfigInput } from "../../../shared/config/mapping.js";
import { emulatorInputs } from "../../../shared/runtime/emulatorStack.js";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { startSyncHarness, type SyncHarness } from "../../support/syncHarness.js";
import { contactRowIdOf, partiesOf } from "./activityFixtures.js";

const exampleConfig = () => JSON.parse(readFileSync(new URL("../../../examples/activities/sync.config.json", import.meta.url), "utf8")) as SyncConfigInput;

let h: SyncHarness;
afterEach(async () => h?.stop());

describe("the activities example on the demo", () => {
  it("runs on the demo schema and seed, with the app serving its activity feed", () => {
    const inputs = emulatorInputs(parseSyncConfig(exampleConfig(), "example"));

    expect(inputs).toMatchObject({ demo: true, appEntities: ["group", "mentor", "activity"] });
  });

  it("puts the mentors' logged calls and e-mails on their contacts' timelines, closed, from the coordinator", async () => {
    h = await startSyncHarness({ config: exampleConfig() });

    const summary = await h.cycle();

    expect(summary.status).toBe("succeeded");
    expect(summary.mappings.find((m) => m.name === "activities")!.toDataverse).toMatchObject({ created: 4, updated: 4, failed: 0 });
    const kari = "5a0e0f2c-6a39-4c3e-8d4b-000000000002";
    const call = h.stack.dataverse.rows("phonecall").find((r) => r.subject === "Check-in after first session")!;
    expect(call).toMatchObject({ _regardingobjectid_value: contactRowIdOf(h, "m-0001"), statecode: 1, statuscode: 2, actualend: "2026-01-05T09:15:00Z" });
    expect(partiesOf(h, call.activityid as string)).toEqual(expect.arrayContaining([{ mask: 1, party: kari, address: "kari@hlf.example" }]));
    // A mentor created by this run (m-0004) gets its e-mail too; its outside sender stays an address.
    const welcome = h.stack.dataverse.rows("email").find((r) => r.subject === "Welcome to the programme")!;
    expect(welcome).toMatchObject({ _regardingobjectid_value: contactRowIdOf(h, "m-0004"), statecode: 1, statuscode: 3 });
    expect(partiesOf(h, welcome.activityid as string)).toEqual(expect.arrayContaining([{ mask: 1, party: null, address: "volunteer@elsewhere.example" }]));
  });
});
