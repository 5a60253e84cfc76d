import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type RawResponse } from "./appHttp.js";
import { appSyncTargets, contractSeed, type AppSyncTarget, type RunningTarget } from "./appSyncTargets.js";
import { loadAppSyncApi, responseSchema, validate } from "./openApiSchema.js";

const KEY = "conformance-key";
const doc = loadAppSyncApi();

interface Case {
  name: string;
  path: string;
  method: string;
  status: number;
  run: (baseUrl: string) => Promise<RawResponse>;
  /** Only for servers that answer 404 to an entity they do not serve. */
  strictEntities?: true;
}

const cases: Case[] = [
  { name: "changes page", path: "/sync/{entity}/changes", method: "get", status: 200, run: (u) => call(u, KEY, "GET", "/sync/mentor/changes?limit=3") },
  {
    name: "changes page with a tombstone", path: "/sync/{entity}/changes", method: "get", status: 200,
    run: async (u) => { await call(u, KEY, "DELETE", "/sync/group/g-south"); return call(u, KEY, "GET", "/sync/group/changes"); },
  },
  { name: "changes with a bad limit", path: "/sync/{entity}/changes", method: "get", status: 400, run: (u) => call(u, KEY, "GET", "/sync/mentor/changes?limit=0") },
  { name: "changes without a key", path: "/sync/{entity}/changes", method: "get", status: 401, run: (u) => call(u, undefined, "GET", "/sync/mentor/changes") },
  { name: "changes of an entity it does not serve", path: "/sync/{entity}/changes", method: "get", status: 404, strictEntities: true, run: (u) => call(u, KEY, "GET", "/sync/nothing/changes") },
  { name: "create", path: "/sync/{entity}", method: "post", status: 201, run: (u) => call(u, KEY, "POST", "/sync/mentor", { data: { firstName: "A", certificationStatus: "pending", isPublic: false, active: true }, dataverseId: "d-1" }) },
  { name: "create retried", path: "/sync/{entity}", method: "post", status: 200, run: (u) => call(u, KEY, "POST", "/sync/mentor", { data: { firstName: "A", certificationStatus: "pending", isPublic: false, active: true }, dataverseId: "d-1" }) },
  { name: "create with malformed JSON", path: "/sync/{entity}", method: "post", status: 400, run: (u) => call(u, KEY, "POST", "/sync/mentor", "{") },
  { name: "create without a key", path: "/sync/{entity}", method: "post", status: 401, run: (u) => call(u, "nope", "POST", "/sync/mentor", { data: {} }) },
  { name: "create of an entity it does not serve", path: "/sync/{entity}", method: "post", status: 404, strictEntities: true, run: (u) => call(u, KEY, "POST", "/sync/nothing", { data: {} }) },
  { name: "create rejected", path: "/sync/{entity}", method: "post", status: 422, run: (u) => call(u, KEY, "POST", "/sync/mentor", { data: { score: "high" } }) },
  { name: "get", path: "/sync/{entity}/{id}", method: "get", status: 200, run: (u) => call(u, KEY, "GET", "/sync/mentor/m-0003") },
  { name: "get without a key", path: "/sync/{entity}/{id}", method: "get", status: 401, run: (u) => call(u, undefined, "GET", "/sync/mentor/m-0003") },
  { name: "get missing", path: "/sync/{entity}/{id}", method: "get", status: 404, run: (u) => call(u, KEY, "GET", "/sync/mentor/m-4040") },
  { name: "patch", path: "/sync/{entity}/{id}", method: "patch", status: 200, run: (u) => call(u, KEY, "PATCH", "/sync/mentor/m-0004", { data: { score: 1 } }) },
  { name: "patch with malformed JSON", path: "/sync/{entity}/{id}", method: "patch", status: 400, run: (u) => call(u, KEY, "PATCH", "/sync/mentor/m-0004", "[") },
  { name: "patch without a key", path: "/sync/{entity}/{id}", method: "patch", status: 401, run: (u) => call(u, undefined, "PATCH", "/sync/mentor/m-0004", { data: {} }) },
  { name: "patch missing", path: "/sync/{entity}/{id}", method: "patch", status: 404, run: (u) => call(u, KEY, "PATCH", "/sync/mentor/m-4040", { data: {} }) },
  { name: "patch stale", path: "/sync/{entity}/{id}", method: "patch", status: 412, run: (u) => call(u, KEY, "PATCH", "/sync/mentor/m-0004", { data: {} }, { "if-match": '"v0"' }) },
  { name: "patch rejected", path: "/sync/{entity}/{id}", method: "patch", status: 422, run: (u) => call(u, KEY, "PATCH", "/sync/mentor/m-0004", { data: { active: "yes" } }) },
  { name: "delete", path: "/sync/{entity}/{id}", method: "delete", status: 204, run: (u) => call(u, KEY, "DELETE", "/sync/mentor/m-0005") },
  { name: "delete without a key", path: "/sync/{entity}/{id}", method: "delete", status: 401, run: (u) => call(u, undefined, "DELETE", "/sync/mentor/m-0006") },
  { name: "delete missing", path: "/sync/{entity}/{id}", method: "delete", status: 404, run: (u) => call(u, KEY, "DELETE", "/sync/mentor/m-0005") },
  { name: "delete stale", path: "/sync/{entity}/{id}", method: "delete", status: 412, run: (u) => call(u, KEY, "DELETE", "/sync/mentor/m-0006", undefined, { "if-match": '"v0"' }) },
];

const casesFor = (t: AppSyncTarget) => cases.filter((c) => !c.strictEntities || !t.servesAnyEntity);

describe.each(appSyncTargets)("docs/openapi/app-sync-api.json against $name", (target) => {
  let server: RunningTarget;

  beforeAll(async () => {
    server = await target.start({ apiKey: KEY, seed: contractSeed });
  });
  afterAll(async () => {
    await server.stop();
  });

  // Sequential on one server: some cases depend on earlier writes (the retried create, the second delete).
  it.each(casesFor(target))("answers $name with the documented $status and body shape", async (c) => {
    // Act
    const res = await c.run(server.baseUrl);
    // Assess
    expect(res.status).toBe(c.status);
    const documented = responseSchema(doc, c.path, c.method, res.status);
    expect(documented, `${c.method.toUpperCase()} ${c.path} does not document ${res.status}`).toBeDefined();
    if (documented!.schema) expect(validate(doc, documented!.schema, res.body)).toEqual([]);
    else expect(res.body).toBeUndefined();
  });
});

describe("docs/openapi/app-sync-api.json", () => {
  it("documents every operation's status codes with a case that some server answers", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) => Object.keys(op.responses).map((s) => `${method} ${path} ${s}`)));
    const covered = new Set(appSyncTargets.flatMap(casesFor).map((c) => `${c.method} ${c.path} ${c.status}`));
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
