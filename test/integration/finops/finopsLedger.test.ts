import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { FinopsLedger, type FinopsMessage } from "../../../shared/finops/finopsLedger.js";
import { memoryLedgerRows, tableLedgerRows, type LedgerRows } from "../../../shared/finops/ledgerRows.js";
import { azuriteConnectionString, uniqueName } from "../../support/storage.js";

const message = (id: string, at: string, patch: Partial<FinopsMessage> = {}): FinopsMessage => ({
  job: "job-a", id, direction: "from-finops", status: "dequeued", records: 0, failed: 0, createdAt: at, updatedAt: at, ...patch,
});

const adapters: [string, () => Promise<LedgerRows>][] = [
  ["in memory", async () => memoryLedgerRows()],
  ["on Table Storage (Azurite)", async () => {
    const client = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName("ledger"), { allowInsecureConnection: true });
    await client.createTable();
    return tableLedgerRows(client);
  }],
];

/** One contract for both adapters of the F&O message ledger. */
describe.each(adapters)("the F&O message ledger %s", (_name, make) => {
  it("records a message once: a second claim of the same id gets the first record back", async () => {
    // Prepare
    const ledger = new FinopsLedger(await make());
    // Act
    const first = await ledger.claim(message("blob:1", "2026-03-02T08:00:00.000Z", { correlationId: "c-1" }));
    const second = await ledger.claim(message("blob:1", "2026-03-02T09:00:00.000Z", { correlationId: "c-2" }));
    // Assess
    expect(first.created).toBe(true);
    expect(second).toMatchObject({ created: false, message: { correlationId: "c-1" } });
  });

  it("keeps the open index in step with updates and lists the newest first", async () => {
    // Prepare
    const ledger = new FinopsLedger(await make());
    await ledger.claim(message("a", "2026-03-02T08:00:00.000Z"));
    await ledger.claim(message("b", "2026-03-02T09:00:00.000Z"));
    // Act
    await ledger.update("job-a", "a", (m) => ({ ...m, status: "acked" }));
    // Assess
    expect((await ledger.open("job-a")).map((m) => m.id)).toEqual(["b"]);
    expect((await ledger.recent("job-a", 10)).map((m) => m.id)).toEqual(["b", "a"]);
    expect((await ledger.recent("job-a", 1)).map((m) => m.id)).toEqual(["b"]);
  });

  it("lets one run hold a job's lock until it lapses", async () => {
    // Prepare
    const ledger = new FinopsLedger(await make());
    // Act
    const first = await ledger.lock("job-a", "run-1", 1_000, 60_000);
    const other = await ledger.lock("job-a", "run-2", 2_000, 60_000);
    const lapsed = await ledger.lock("job-a", "run-2", 62_000, 60_000);
    await ledger.unlock("job-a", "run-2");
    const free = await ledger.lock("job-a", "run-3", 63_000, 60_000);
    // Assess
    expect([first, other, lapsed, free]).toEqual([true, false, true, true]);
  });
});
