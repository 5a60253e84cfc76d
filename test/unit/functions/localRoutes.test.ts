import { describe, expect, it } from "vitest";
import { matchRoute } from "../../../shared/runtime/localHttp.js";

describe("local runner route matching (as the host routes /api/<route>)", () => {
  it("reads route parameters, constraints included", () => {
    expect(matchRoute("sync/runs/{runId}", "sync/runs/abc")).toEqual({ params: { runId: "abc" }, literals: 2 });
    expect(matchRoute("inbound/dataverse/{mapping:alpha}", "inbound/dataverse/mentors")?.params).toEqual({ mapping: "mentors" });
  });

  it("matches literals case-insensitively and rejects other paths", () => {
    expect(matchRoute("sync/runs", "Sync/Runs")?.literals).toBe(2);
    expect(matchRoute("sync/runs", "sync/runs/x")).toBeUndefined();
    expect(matchRoute("sync/runs/{runId}", "sync/runs")).toBeUndefined();
  });

  it("lets an optional trailing parameter be absent", () => {
    expect(matchRoute("records/{entity}/{id?}", "records/mentor")?.params).toEqual({ entity: "mentor" });
    expect(matchRoute("records/{entity}/{id?}", "records/mentor/m-1")?.params).toEqual({ entity: "mentor", id: "m-1" });
  });

  it("decodes parameters and refuses malformed escapes", () => {
    expect(matchRoute("sync/runs/{runId}", "sync/runs/a%20b")?.params.runId).toBe("a b");
    expect(matchRoute("sync/runs/{runId}", "sync/runs/%E0%A4%A")).toBeUndefined();
  });
});
