/**
 * A token refused for an F&O job names Finance & Operations, not Dataverse: the shared token
 * provider's message says which resource the token was for. Real parts: the local token endpoint
 * (which refuses the wrong secret), @azure/identity, Azurite and the F&O emulator.
 */
import { afterEach, describe, expect, it } from "vitest";
import { loadSettings } from "../../../shared/config/settings.js";
import { finopsServices } from "../../../shared/finops/finopsServices.js";
import { runFinopsJob } from "../../../shared/finops/runFinopsJob.js";
import { createServices } from "../../../shared/runtime/services.js";
import { uniqueName } from "../../support/storage.js";
import { customerGroups, seedCustomerGroups, startFinopsStack, testPoll, type FinopsStack } from "./finopsFixtures.js";

describe("an F&O job's token failure", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  it("fails the run with AUTH naming Finance & Operations and its URL, never Dataverse or the secret", async () => {
    // Prepare: the stack's settings with a client secret the token endpoint refuses
    s = await startFinopsStack([customerGroups]);
    seedCustomerGroups(s, 2);
    const wrongSecret = `wrong-${uniqueName("secret")}`;
    const tablePrefix = uniqueName("t");
    const services = await createServices({ settings: loadSettings({ ...s.env, DYNAMICS_CLIENT_SECRET: wrongSecret }), config: s.services.config, queues: "memory", tablePrefix });
    const f = await finopsServices(services, { tablePrefix });
    // Act
    const run = await runFinopsJob(f, s.names["customer-groups"], { trigger: "cli", poll: testPoll });
    // Assess
    expect(run).toMatchObject({ status: "failed", errorCode: "AUTH" });
    expect(run.error).toContain(`Could not obtain a Finance & Operations (${s.fo.url}) token for client ${s.env.DYNAMICS_CLIENT_ID}`);
    expect(run.error).not.toContain("Dataverse");
    expect(run.error).not.toContain(wrongSecret);
    expect(s.fo.importedRows("Customer groups")).toEqual([]);
  }, 120_000);
});
