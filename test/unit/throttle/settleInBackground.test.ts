import { describe, expect, it } from "vitest";
import { createDataverseClient } from "../../../shared/dataverse/createDataverseClient.js";
import type { RequestBudget } from "../../../shared/dataverse/dataverseTransport.js";
import { jsonResponse } from "../http/fakes.js";

const instanceUrl = "https://org.crm4.dynamics.com";

describe("DataverseClient with a shared throttle budget: the correction after an answer", () => {
  it("hands the answer back without waiting for the budget to write the correction to its row", async () => {
    // Prepare: a budget whose row write after the answer does not finish until the test says so.
    let finishWrite!: () => void;
    const written = new Promise<void>((resolve) => (finishWrite = resolve));
    const settled: number[] = [];
    const budget: RequestBudget = {
      acquire: async () => ({
        settle: async (observedMs) => {
          settled.push(observedMs);
          await written;
        },
      }),
      penalize: async () => {},
    };
    const fetch = (async () => jsonResponse(200, { UserId: "u" })) as typeof globalThis.fetch;
    const client = createDataverseClient({ instanceUrl, tokens: { getToken: async () => "tok" }, fetch, random: () => 0, budget });

    // Act
    let answered: string | undefined;
    const call = client.whoAmI().then((who) => void (answered = who.UserId));
    for (let turn = 0; turn < 50 && answered === undefined; turn++) await new Promise((r) => setImmediate(r));

    // Assess: answered, and the budget was told what the attempt took, while its write is still under way.
    expect(answered).toBe("u");
    expect(settled).toHaveLength(1);
    finishWrite();
    await call;
  });
});
