import { afterEach, describe, expect, it } from "vitest";
import { finopsJobsApi } from "../../../shared/api/finopsApi.js";
import { healthApi } from "../../../shared/api/healthApi.js";
import { listRunsApi, manualSyncApi } from "../../../shared/api/syncApi.js";
import { handleFinopsRunMessage } from "../../../shared/finops/finopsTriggers.js";
import type { RunMessage } from "../../../shared/sync/writeOps.js";
import { ADMIN_KEY, adminRequest } from "../../unit/api/adminFixtures.js";
import { EXPORT_ID, customerGroups, salesOrderRows, salesOrders, seedCustomerGroups, startFinopsStack, type FinopsStack } from "./finopsFixtures.js";

describe("F&O jobs on the HTTP routes", () => {
  let s: FinopsStack;
  afterEach(async () => s?.stop());

  const withKey = (stack: FinopsStack) => Object.assign(stack.services.settings, { adminApiKey: ADMIN_KEY });

  it("POST /api/sync {\"finops\": job} queues a run that the run worker hands to the job; GET /api/finops/jobs lists its messages", async () => {
    // Prepare
    s = await startFinopsStack([customerGroups, salesOrders]);
    withKey(s);
    seedCustomerGroups(s, 2);
    s.fo.seedExport(EXPORT_ID, salesOrderRows(4));
    const job = s.names["customer-groups"];
    // Act
    const started = await manualSyncApi(adminRequest("POST", "sync", { body: JSON.stringify({ finops: job }) }), s.services);
    const [message] = await s.services.queues.runs.receive(1, 60_000);
    const handled = await handleFinopsRunMessage(s.services, message.body as RunMessage);
    await s.run("sales-orders");
    const listed = await finopsJobsApi(adminRequest("GET", "finops/jobs"), s.services);
    // Assess
    expect(started.status).toBe(202);
    const runId = (started.jsonBody as { runId: string }).runId;
    expect(message.body).toMatchObject({ runId, mapping: job, trigger: "manual" });
    expect(handled).toBe(true);
    expect(await s.services.state.getRun(runId)).toMatchObject({ status: "succeeded", toDataverse: { created: 2 } });
    expect(listed.status).toBe(200);
    const jobs = (listed.jsonBody as { jobs: Record<string, unknown>[] }).jobs;
    expect(jobs.map((j) => [j.name, j.direction])).toEqual([[job, "to-finops"], [s.names["sales-orders"], "from-finops"]]);
    expect(jobs[0]).toMatchObject({ lastRunAt: expect.any(String), lastSuccessAt: expect.any(String), messages: [{ messageId: expect.any(String), status: "processed", records: 2, enqueuedAt: expect.any(String) }] });
    expect(jobs[1]).toMatchObject({ messages: [{ correlationId: expect.any(String), status: "acked", records: 4, dequeuedAt: expect.any(String), ackedAt: expect.any(String) }] });
  });

  it("answers 404 naming the known jobs for an unknown job, and 401 without the admin key", async () => {
    // Prepare
    s = await startFinopsStack([customerGroups]);
    withKey(s);
    // Act
    const unknown = await manualSyncApi(adminRequest("POST", "sync", { body: JSON.stringify({ finops: "nope" }) }), s.services);
    const denied = await finopsJobsApi(adminRequest("GET", "finops/jobs", { key: null }), s.services);
    // Assess
    expect(unknown.status).toBe(404);
    expect(unknown.jsonBody).toMatchObject({ error: { code: "FINOPS_UNKNOWN_JOB", known: [s.names["customer-groups"]] } });
    expect(denied.status).toBe(401);
    expect(await s.services.queues.runs.approximateCount()).toBe(0);
  });

  it("includes the jobs in health and in the run history", async () => {
    // Prepare
    s = await startFinopsStack([customerGroups]);
    withKey(s);
    seedCustomerGroups(s, 1);
    await s.run("customer-groups");
    // Act
    const health = await healthApi(s.services);
    const runs = await listRunsApi(adminRequest("GET", "sync/runs", { query: `mapping=${s.names["customer-groups"]}` }), s.services);
    // Assess
    const mappings = (health.jsonBody as { mappings: { name: string; status: string }[] }).mappings;
    expect(mappings).toEqual([expect.objectContaining({ name: s.names["customer-groups"], status: "healthy" })]);
    expect(runs.status).toBe(200);
    expect((runs.jsonBody as { runs: unknown[] }).runs).toHaveLength(1);
  });
});
