import { describe, expect, it } from "vitest";
import { HEALTH_CACHE_MS, healthApi } from "../../../shared/api/healthApi.js";
import type { RunStatus } from "../../../shared/ports.js";
import { adminFixture, type AdminFixture } from "./adminFixtures.js";

const body = (r: { jsonBody?: unknown }) => r.jsonBody as Record<string, any>;
const HOUR = 3_600_000;

/** What the engine's finishRun records for a finished (non-dry) run. */
async function finishedRun(f: AdminFixture, mapping: string, status: RunStatus): Promise<void> {
  const at = new Date(f.clock.now()).toISOString();
  for (const direction of ["toDataverse", "toApp"] as const) {
    await f.state.updateHealth(mapping, direction, (h) => ({
      ...h, lastRunAt: at, lastRunId: `run-${at}`, lastRunStatus: status,
      lastSuccessAt: status === "failed" ? h.lastSuccessAt : at,
      consecutiveFailures: status === "failed" ? h.consecutiveFailures + 1 : 0,
    }));
  }
}

/** Each check on a fresh answer: step past the cache. */
async function check(f: AdminFixture) {
  f.clock.advance(HEALTH_CACHE_MS);
  return healthApi(f.services);
}

describe("GET /api/health", () => {
  it("answers 200 pending before the first run", async () => {
    const f = adminFixture();

    const res = await healthApi(f.services);

    expect(res.status).toBe(200);
    expect(body(res).status).toBe("pending");
    expect(body(res).mappings.map((m: { name: string; status: string }) => [m.name, m.status])).toEqual([["groups", "pending"], ["mentors", "pending"]]);
    expect(body(res).token).toEqual({ ok: true });
  });

  it("reports per mapping and direction the last success, run status, failures, cursor age and dead letters", async () => {
    const f = adminFixture();
    await f.state.putCursor({ mapping: "mentors", side: "dataverse", value: "token-1", takenAt: new Date(f.clock.now()).toISOString() });
    await f.state.putDeadLetter({ id: "mentors|toApp|x", mapping: "mentors", direction: "toApp", recordId: "x", code: "UNMAPPABLE_VALUE", message: "m", attempts: 1, firstFailedAt: "2025-03-01T00:00:00Z", lastFailedAt: "2025-03-01T00:00:00Z", payload: {} });
    await finishedRun(f, "mentors", "succeeded");
    const successAt = new Date(f.clock.now()).toISOString();
    f.clock.advance(3 * HOUR);

    const res = await check(f);

    expect(res.status).toBe(200);
    expect(body(res).status).toBe("healthy");
    const mentors = body(res).mappings.find((m: { name: string }) => m.name === "mentors");
    expect(mentors).toMatchObject({
      status: "healthy", deadLetters: 1, deltaTokenAgeHours: 3,
      toApp: { lastSuccessAt: successAt, lastRunStatus: "succeeded", consecutiveFailures: 0, cursorAgeHours: 3 },
      toDataverse: { lastSuccessAt: successAt, cursorAgeHours: null },
    });
  });

  it("stays 200 after one failed run and turns 503 after two consecutive failed runs", async () => {
    const f = adminFixture();
    await finishedRun(f, "mentors", "succeeded");
    await finishedRun(f, "mentors", "failed");

    const afterOne = await check(f);
    await finishedRun(f, "mentors", "failed");
    const afterTwo = await check(f);

    expect(afterOne.status).toBe(200);
    expect(body(afterOne).mappings[1].status).toBe("degraded");
    expect(afterTwo.status).toBe(503);
    expect(body(afterTwo).status).toBe("unhealthy");
    expect(body(afterTwo).problems).toContain("mentors toApp: 2 consecutive failed runs");
  });

  it("returns to 200 after a successful run", async () => {
    const f = adminFixture();
    await finishedRun(f, "mentors", "failed");
    await finishedRun(f, "mentors", "failed");
    expect((await check(f)).status).toBe(503);

    await finishedRun(f, "mentors", "succeeded");
    const res = await check(f);

    expect(res.status).toBe(200);
    expect(body(res).problems).toEqual([]);
  });

  it("turns 503 when the last success is older than the staleness limit", async () => {
    const f = adminFixture();
    await finishedRun(f, "groups", "succeeded");
    f.clock.advance(25 * HOUR);
    const fresh = await check(f);

    f.clock.advance(2 * HOUR);
    const stale = await check(f);

    expect(fresh.status).toBe(200);
    expect(stale.status).toBe(503);
    expect(body(stale).problems.join(" ")).toContain("groups toDataverse: no successful sync for more than 26 h");
  });

  it("turns 503 when no Dataverse token can be obtained, without revealing the error text", async () => {
    const f = adminFixture();
    f.failToken();

    const res = await healthApi(f.services);

    expect(res.status).toBe(503);
    expect(body(res).token).toEqual({ ok: false, code: "AUTH" });
    expect(JSON.stringify(res.jsonBody)).not.toContain("s3cr3t");
    expect(JSON.stringify(res.jsonBody)).not.toContain("AADSTS");
    expect(f.logs.some((l) => l.level === "warn" && String(l.props?.error).includes("AADSTS7000215"))).toBe(true);
  });

  it("serves repeated probes from a short cache instead of asking the token endpoint each time", async () => {
    const f = adminFixture();

    const answers = await Promise.all([healthApi(f.services), healthApi(f.services), healthApi(f.services)]);
    f.clock.advance(HEALTH_CACHE_MS - 1);
    await healthApi(f.services);
    const callsWithinCache = f.tokenCalls();
    f.clock.advance(1);
    await healthApi(f.services);

    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(callsWithinCache).toBe(1);
    expect(f.tokenCalls()).toBe(2);
  });

  it("answers 503 without internals when the sync state cannot be read", async () => {
    const f = adminFixture();
    f.state.getHealth = async () => { throw new Error("connect ECONNREFUSED 127.0.0.1:10002"); };

    const res = await healthApi(f.services);

    expect(res.status).toBe(503);
    expect(JSON.stringify(res.jsonBody)).not.toContain("ECONNREFUSED");
  });
});
