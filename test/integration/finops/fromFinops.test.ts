import { afterEach, describe, expect, it } from "vitest";
import { ErrorCodes } from "../../../shared/errors.js";
import { DEFAULT_REDELIVERY_MS } from "../../emulators/finops/index.js";
import { EXPORT_ID, salesOrderRows, salesOrders, startFinopsStack, type FinopsStack } from "./finopsFixtures.js";

const acks = (s: FinopsStack) => s.fo.requestLog().filter((r) => r.method === "POST" && r.path.includes("/api/connector/ack/"));
const appWrites = (s: FinopsStack) => s.stack.app.requests.filter((r) => r.method !== "GET");

/** from-finops: F&O's exports (a recurring data package job) written to the app, acked once. */
describe("a from-finops job (recurring integration, data package)", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  it("writes an export of 10,000 rows to the app, streamed from the package, and acks it once", async () => {
    // Prepare
    s = await startFinopsStack([salesOrders]);
    s.fo.seedExport(EXPORT_ID, salesOrderRows(10_000));
    // Act
    const run = await s.run("sales-orders");
    // Assess
    expect(run.error).toBeUndefined();
    expect(run.status).toBe("succeeded");
    expect(run.toApp).toMatchObject({ created: 10_000, failed: 0 });
    const orders = s.stack.app.list("salesOrder");
    expect(orders).toHaveLength(10_000);
    expect(orders.find((o) => o.data?.number === "SO-1234")?.data?.total).toBe(12340.5);
    expect(acks(s)).toHaveLength(1);
    expect(s.fo.messages()[0]).toMatchObject({ acked: true, dequeueCount: 1 });
    expect(await s.services.state.getLinkByDataverse(s.names["sales-orders"], "SO-10000")).toMatchObject({ appId: expect.any(String) });
  }, 400_000);

  it("updates only what changed when F&O exports a record again, matched by key through the link map", async () => {
    // Prepare
    s = await startFinopsStack([salesOrders]);
    s.fo.seedExport(EXPORT_ID, salesOrderRows(3));
    await s.run("sales-orders");
    const before = appWrites(s).length;
    s.fo.seedExport(EXPORT_ID, [{ SALESORDERNUMBER: "SO-2", TOTALAMOUNT: "99.95" }, { SALESORDERNUMBER: "SO-3", TOTALAMOUNT: "30.50" }]);
    // Act
    const run = await s.run("sales-orders");
    // Assess
    expect(run.toApp).toMatchObject({ created: 0, updated: 1, skipped: 1 });
    const writes = appWrites(s).slice(before);
    expect(writes).toHaveLength(1);
    expect(writes[0].method).toBe("PATCH");
    expect(writes[0].body).toEqual({ data: { total: 99.95 } });
    expect(s.stack.app.list("salesOrder")).toHaveLength(3);
  });

  it("writes a key the file holds twice in file order: one record, holding the later row's values, and one link", async () => {
    // Prepare: SO-2 twice in one file, new to the app, and again among rows already linked.
    s = await startFinopsStack([salesOrders]);
    s.fo.seedExport(EXPORT_ID, [{ SALESORDERNUMBER: "SO-2", TOTALAMOUNT: "10.00" }, { SALESORDERNUMBER: "SO-1", TOTALAMOUNT: "1.00" }, { SALESORDERNUMBER: "SO-2", TOTALAMOUNT: "20.00" }]);
    // Act
    const run = await s.run("sales-orders");
    s.fo.seedExport(EXPORT_ID, [{ SALESORDERNUMBER: "SO-1", TOTALAMOUNT: "2.00" }, { SALESORDERNUMBER: "SO-1", TOTALAMOUNT: "3.00" }]);
    const again = await s.run("sales-orders");
    // Assess
    expect(run.status).toBe("succeeded");
    expect(again.status).toBe("succeeded");
    const orders = s.stack.app.list("salesOrder").map((o) => [o.data?.number, o.data?.total]);
    expect(orders.sort()).toEqual([["SO-1", 3], ["SO-2", 20]]);
    expect((await s.services.state.getLinkByDataverse(s.names["sales-orders"], "SO-2"))?.base).toMatchObject({ total: 20 });
    expect((await s.services.state.getLinkByDataverse(s.names["sales-orders"], "SO-1"))?.base).toMatchObject({ total: 3 });
  });

  it("recognises a message delivered again after its ack was lost: acks it, applies nothing twice", async () => {
    // Prepare: the first ack is refused, so F&O delivers the message again after its 30 minutes.
    s = await startFinopsStack([salesOrders]);
    s.fo.seedExport(EXPORT_ID, salesOrderRows(20));
    s.fo.faults.add({ method: "POST", path: "/api/connector/ack/", status: 400, count: 1 });
    const first = await s.run("sales-orders");
    const written = appWrites(s).length;
    s.fo.advance(DEFAULT_REDELIVERY_MS + 1_000);
    // Act
    const second = await s.run("sales-orders");
    // Assess
    expect(first.status).toBe("failed");
    expect(first.toApp.created).toBe(0); // the run failed before it counted; the records are in the app
    expect(s.stack.app.list("salesOrder")).toHaveLength(20);
    expect(second.status).toBe("succeeded");
    expect(second.notes.join(" ")).toMatch(/delivered again after it had been applied/);
    expect(appWrites(s).length).toBe(written);
    expect(s.fo.messages()[0]).toMatchObject({ acked: true, dequeueCount: 2 });
    expect(acks(s).map((a) => a.status)).toEqual([400, 200]);
  });

  it("downloads from an http://…:80 DownloadLocation through FINOPS_BASE_URL's scheme and port", async () => {
    // Prepare
    s = await startFinopsStack([salesOrders], { httpDownloadLocation: true });
    s.fo.seedExport(EXPORT_ID, salesOrderRows(5));
    // Act
    const run = await s.run("sales-orders");
    // Assess
    expect(run.error).toBeUndefined();
    expect(run.toApp.created).toBe(5);
    expect(s.fo.requestLog().filter((r) => r.path.includes("/api/connector/download/")).map((r) => r.status)).toEqual([200]);
  });

  it("keeps a row whose value cannot be read pending with its values, acks the message, and writes it once it can be", async () => {
    // Prepare
    s = await startFinopsStack([salesOrders]);
    s.fo.seedExport(EXPORT_ID, [...salesOrderRows(2), { SALESORDERNUMBER: "SO-X", TOTALAMOUNT: "twelve" }]);
    // Act
    const run = await s.run("sales-orders");
    // Assess
    expect(run.status).toBe("completed_with_failures");
    expect(run.toApp).toMatchObject({ created: 2, failed: 1 });
    expect(acks(s)).toHaveLength(1);
    const [pending] = await s.services.state.listDeadLetters({ mapping: s.names["sales-orders"] });
    expect(pending).toMatchObject({ recordId: "SO-X", direction: "toApp", code: ErrorCodes.Unmappable });
  });

  it("fails the run and leaves the message unacknowledged when the app is down, then applies it on redelivery", async () => {
    // Prepare
    s = await startFinopsStack([salesOrders]);
    s.fo.seedExport(EXPORT_ID, salesOrderRows(3));
    s.stack.app.failNext({ method: "POST", status: 503, count: 50 });
    const first = await s.run("sales-orders");
    s.stack.app.clearFaults();
    s.fo.advance(DEFAULT_REDELIVERY_MS + 1_000);
    // Act
    const second = await s.run("sales-orders");
    // Assess
    expect(first.status).toBe("failed");
    expect(acks(s).filter((a) => a.status === 200)).toHaveLength(1);
    expect(second.status).toBe("succeeded");
    expect(s.stack.app.list("salesOrder")).toHaveLength(3);
    expect(s.fo.messages()[0]).toMatchObject({ acked: true });
  });
});
