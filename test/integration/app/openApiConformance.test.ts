import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSampleApp, type SampleApp } from "../../emulators/app/index.js";
import { call, type RawResponse } from "./appHttp.js";
import { loadAppSyncApi, responseSchema, validate } from "./openApiSchema.js";

const KEY = "conformance-key";
const doc = loadAppSyncApi();

interface Case {
  name: string;
  path: string;
  method: string;
  status: number;
  run: (app: SampleApp) => Promise<RawResponse>;
}

const cases: Case[] = [
  { name: "changes page", path: "/sync/{entity}/changes", method: "get", status: 200, run: (a) => call(a.baseUrl, KEY, "GET", "/sync/mentor/changes?limit=3") },
  {
    name: "changes page with a tombstone", path: "/sync/{entity}/changes", method: "get", status: 200,
    run: async (a) => { a.remove("group", "g-south"); return call(a.baseUrl, KEY, "GET", "/sync/group/changes"); },
  },
  { name: "changes with a bad limit", path: "/sync/{entity}/changes", method: "get", status: 400, run: (a) => call(a.baseUrl, KEY, "GET", "/sync/mentor/changes?limit=0") },
  { name: "changes without a key", path: "/sync/{entity}/changes", method: "get", status: 401, run: (a) => call(a.baseUrl, undefined, "GET", "/sync/mentor/changes") },
  { name: "create", path: "/sync/{entity}", method: "post", status: 201, run: (a) => call(a.baseUrl, KEY, "POST", "/sync/mentor", { data: { firstName: "A" }, dataverseId: "d-1" }) },
  { name: "create retried", path: "/sync/{entity}", method: "post", status: 200, run: (a) => call(a.baseUrl, KEY, "POST", "/sync/mentor", { data: { firstName: "A" }, dataverseId: "d-1" }) },
  { name: "create with malformed JSON", path: "/sync/{entity}", method: "post", status: 400, run: (a) => call(a.baseUrl, KEY, "POST", "/sync/mentor", "{") },
  { name: "create without a key", path: "/sync/{entity}", method: "post", status: 401, run: (a) => call(a.baseUrl, "nope", "POST", "/sync/mentor", { data: {} }) },
  { name: "create rejected", path: "/sync/{entity}", method: "post", status: 422, run: (a) => call(a.baseUrl, KEY, "POST", "/sync/mentor", { data: { score: "high" } }) },
  { name: "get", path: "/sync/{entity}/{id}", method: "get", status: 200, run: (a) => call(a.baseUrl, KEY, "GET", "/sync/mentor/m-0003") },
  { name: "get without a key", path: "/sync/{entity}/{id}", method: "get", status: 401, run: (a) => call(a.baseUrl, undefined, "GET", "/sync/mentor/m-0003") },
  { name: "get missing", path: "/sync/{entity}/{id}", method: "get", status: 404, run: (a) => call(a.baseUrl, KEY, "GET", "/sync/mentor/m-4040") },
  { name: "patch", path: "/sync/{entity}/{id}", method: "patch", status: 200, run: (a) => call(a.baseUrl, KEY, "PATCH", "/sync/mentor/m-0004", { data: { score: 1 } }) },
  { name: "patch with malformed JSON", path: "/sync/{entity}/{id}", method: "patch", status: 400, run: (a) => call(a.baseUrl, KEY, "PATCH", "/sync/mentor/m-0004", "[") },
  { name: "patch without a key", path: "/sync/{entity}/{id}", method: "patch", status: 401, run: (a) => call(a.baseUrl, undefined, "PATCH", "/sync/mentor/m-0004", { data: {} }) },
  { name: "patch missing", path: "/sync/{entity}/{id}", method: "patch", status: 404, run: (a) => call(a.baseUrl, KEY, "PATCH", "/sync/mentor/m-4040", { data: {} }) },
  { name: "patch stale", path: "/sync/{entity}/{id}", method: "patch", status: 412, run: (a) => call(a.baseUrl, KEY, "PATCH", "/sync/mentor/m-0004", { data: {} }, { "if-match": '"v0"' }) },
  { name: "patch rejected", path: "/sync/{entity}/{id}", method: "patch", status: 422, run: (a) => call(a.baseUrl, KEY, "PATCH", "/sync/mentor/m-0004", { data: { active: "yes" } }) },
  { name: "delete", path: "/sync/{entity}/{id}", method: "delete", status: 204, run: (a) => call(a.baseUrl, KEY, "DELETE", "/sync/mentor/m-0005") },
  { name: "delete without a key", path: "/sync/{entity}/{id}", method: "delete", status: 401, run: (a) => call(a.baseUrl, undefined, "DELETE", "/sync/mentor/m-0006") },
  { name: "delete missing", path: "/sync/{entity}/{id}", method: "delete", status: 404, run: (a) => call(a.baseUrl, KEY, "DELETE", "/sync/mentor/m-0005") },
  { name: "delete stale", path: "/sync/{entity}/{id}", method: "delete", status: 412, run: (a) => call(a.baseUrl, KEY, "DELETE", "/sync/mentor/m-0006", undefined, { "if-match": '"v0"' }) },
];

describe("docs/openapi/app-sync-api.json against the sample app", () => {
  let app: SampleApp;

  beforeAll(async () => {
    app = await startSampleApp({ apiKey: KEY, seed: true });
  });
  afterAll(async () => {
    await app.stop();
  });

  // Sequential on one app: some cases depend on earlier writes (the retried create, the second delete).
  it.each(cases)("answers $name with the documented $status and body shape", async (c) => {
    // Act
    const res = await c.run(app);
    // Assess
    expect(res.status).toBe(c.status);
    const documented = responseSchema(doc, c.path, c.method, res.status);
    expect(documented, `${c.method.toUpperCase()} ${c.path} does not document ${res.status}`).toBeDefined();
    if (documented!.schema) expect(validate(doc, documented!.schema, res.body)).toEqual([]);
    else expect(res.body).toBeUndefined();
  });

  it("documents every operation's status codes with a case here", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) => Object.keys(op.responses).map((s) => `${method} ${path} ${s}`)));
    const covered = new Set(cases.map((c) => `${c.method} ${c.path} ${c.status}`));
    expect(documented.filter((d) => !covered.has(d))).toEqual([]);
  });

  it("flags a body that breaks the documented schema", () => {
    const schema = responseSchema(doc, "/sync/{entity}/{id}", "get", 200)!.schema!;
    expect(validate(doc, schema, { id: "m-1", version: "v1", updatedAt: "2026-01-01T00:00:00Z", deleted: false, data: { id: "m-1" } })).not.toEqual([]);
    expect(validate(doc, schema, { id: "m-1", version: 7, updatedAt: "2026-01-01T00:00:00Z", deleted: false, data: {} })).not.toEqual([]);
  });

  it("declares bearer security for every operation", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect((doc as unknown as { security: unknown }).security).toEqual([{ bearerAuth: [] }]);
  });
});
