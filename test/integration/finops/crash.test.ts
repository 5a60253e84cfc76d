import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_REDELIVERY_MS } from "../../emulators/finops/index.js";
import { LOCK_MS } from "../../../shared/finops/runFinopsJob.js";
import { EXPORT_ID, runCli, salesOrderRows, salesOrders, startFinopsStack, type FinopsStack } from "./finopsFixtures.js";

describe("a from-finops run killed between the download and the ack", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  it("is applied again on redelivery without a duplicate, and acked once", async () => {
    // Prepare: the default tables (the CLI child has no table prefix); the app answers the first writes slowly.
    s = await startFinopsStack([salesOrders], {}, { tablePrefix: "" });
    s.fo.seedExport(EXPORT_ID, salesOrderRows(40));
    s.stack.app.failNext({ method: "POST", path: "/sync/salesOrder", delayMs: 2_000, count: 10 });
    const job = s.names["sales-orders"];
    // Act: killed once the file is downloaded and the first records are in the app, before the ack.
    let writtenBeforeCrash: number | undefined;
    const killed = await runCli(["sync", "--finops", job, "--json"], s.cliEnv(), (stderr) => {
      const written = s.stack.app.list("salesOrder").length;
      if (writtenBeforeCrash !== undefined || !stderr.includes("F&O message downloaded") || written === 0) return false;
      writtenBeforeCrash = written;
      return true;
    });
    // The slow writes the killed run had sent still land (the app received them): their links did not.
    await new Promise((r) => setTimeout(r, 2_500));
    s.fo.advance(DEFAULT_REDELIVERY_MS + 1_000); // F&O delivers the unacked message again
    s.clock.advance(LOCK_MS + 1_000); // the killed run's job lock lapses
    const run = await s.run("sales-orders");
    // Assess
    expect(killed.signal).toBe("SIGKILL");
    expect(writtenBeforeCrash).toBeGreaterThan(0);
    expect(writtenBeforeCrash).toBeLessThan(40);
    expect(s.fo.requestLog().filter((r) => r.path.includes("/api/connector/ack/"))).toHaveLength(1);
    expect(run.error).toBeUndefined();
    expect(run.notes.join(" ")).toMatch(/taken before by a run that did not finish it/);
    const orders = s.stack.app.list("salesOrder");
    expect(orders).toHaveLength(40);
    expect(new Set(orders.map((o) => o.data?.number)).size).toBe(40);
    expect(s.fo.messages()[0]).toMatchObject({ acked: true, dequeueCount: 2 });
  }, 120_000);
});
