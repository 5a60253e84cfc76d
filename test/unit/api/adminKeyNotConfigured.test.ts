import { describe, expect, it } from "vitest";
import { listRunsApi, manualSyncApi, runStatusApi } from "../../../shared/api/syncApi.js";
import type { Settings } from "../../../shared/config/settings.js";
import { adminFixture, adminRequest } from "./adminFixtures.js";

/** Services built the way `npm run sync` builds them: no ADMIN_API_KEY. */
function withoutAdminKey() {
  const f = adminFixture();
  f.services.settings = {} as Settings;
  return f;
}

describe("admin routes on a host without ADMIN_API_KEY", () => {
  it("refuse every caller with an error that names ADMIN_API_KEY, and start nothing", async () => {
    const f = withoutAdminKey();
    const runId = "6c1f8a4e-0000-4000-8000-000000000001";

    const answers = [
      await manualSyncApi(adminRequest("POST", "sync", { body: "{}" }), f.services),
      await manualSyncApi(adminRequest("POST", "sync", { key: null, query: "code=" }), f.services),
      await runStatusApi(adminRequest("GET", `sync/runs/${runId}`, { params: { runId } }), f.services),
      await listRunsApi(adminRequest("GET", "sync/runs"), f.services),
    ];

    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(res.jsonBody).toEqual({ error: { code: "ADMIN_AUTH_NOT_CONFIGURED", message: expect.stringContaining("set ADMIN_API_KEY") } });
    }
    expect(await f.runs.approximateCount()).toBe(0);
  });
});
