import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadSyncConfig, parseSyncConfig, validateSyncConfig } from "../../../shared/config/loadConfig.js";
import { asyncProblemsOf, config, mapping, problemsOf } from "./factories.js";

const dir = mkdtempSync(join(tmpdir(), "d365-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("parseSyncConfig", () => {
  it("applies the defaults of a minimal mapping", () => {
    // Act
    const parsed = parseSyncConfig(config(mapping()));
    // Assess
    expect(parsed.schedule).toBe("0 0 2 * * *");
    expect(parsed.options.maxAttempts).toBe(5);
    expect(parsed.mappings[0]).toMatchObject({ direction: "both", conflict: { strategy: "newest-wins" }, deletes: "ignore" });
  });

  it("throws INVALID_CONFIG naming the source file", () => {
    let thrown: unknown;
    try { parseSyncConfig({}, "my.config.json"); } catch (e) { thrown = e; }
    expect(thrown).toMatchObject({ kind: "validation", code: "INVALID_CONFIG" });
    expect((thrown as Error).message).toMatch(/^Invalid mapping file my\.config\.json \(1 problem\):\n  - mappings: required/);
  });

  it("names the path, the allowed values and the value found for a wrong enum", () => {
    const bad = mapping({ fields: [{ app: "id", dataverse: "hlf_mentorid", type: "text" as never }] });
    const problems = problemsOf(() => parseSyncConfig(config(bad)));
    expect(problems).toEqual([
      'mappings[0].fields[0].type: expected one of string, number, decimal, money, boolean, date, datetime, choice, multichoice, lookup, owner, status; got "text"',
    ]);
  });

  it("reports each unknown key with its path and the keys allowed there", () => {
    const bad = { ...config(mapping({ app: { entity: "mentor", filtr: "score > 1" } as never })), extra: true };
    const problems = problemsOf(() => parseSyncConfig(bad));
    expect(problems).toContain("mappings[0].app.filtr: unknown key; expected one of entity, filter, inactiveField");
    expect(problems).toContain("extra: unknown key; expected one of $schema, schedule, options, mappings");
  });

  it("reports a missing key, a wrong type and an out-of-range number", () => {
    const bad = { options: { maxAttempts: 50 }, mappings: [mapping({ dataverse: { entitySet: "contacts", key: ["hlf_mentorid"] } as never, direction: 3 as never })] };
    const problems = problemsOf(() => parseSyncConfig(bad));
    expect(problems).toEqual(expect.arrayContaining([
      "options.maxAttempts: expected a number <= 20; got 50",
      "mappings[0].dataverse.table: required (string)",
      "mappings[0].direction: expected one of to-dataverse, to-app, both; got 3",
    ]));
  });

  it("lists shape problems and cross-key problems of other mappings in one pass", () => {
    // Prepare: mapping 0 is malformed; mapping 1 is well-formed but refers to a missing mapping
    const broken = mapping({ name: "groups", fields: [{ app: "id", dataverse: "hlf_mentorid", type: "text" as never }] });
    const dangling = mapping({ fields: [
      { app: "id", dataverse: "hlf_mentorid", type: "string" },
      { app: "groupId", dataverse: "hlf_groupid", type: "lookup", lookup: { mapping: "teams" } },
    ] });
    // Act
    const problems = problemsOf(() => parseSyncConfig({ schedule: "bad", mappings: [broken, dangling] }));
    // Assess
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^mappings\[0\]\.fields\[0\]\.type:/);
    expect(problems.some((p) => p.startsWith("schedule: expected an NCRONTAB schedule"))).toBe(true);
    expect(problems.some((p) => p.startsWith('mappings[1].fields[1].lookup.mapping: expected the name of a mapping in this file (groups, mentors); got "teams"'))).toBe(true);
  });

  it("normalises a five-field schedule to six fields", () => {
    expect(parseSyncConfig({ ...config(), schedule: "30 2 * * 1-5" }).schedule).toBe("0 30 2 * * 1-5");
  });

  it("passes warnings to onWarning without failing", () => {
    const warnings: string[] = [];
    const parsed = parseSyncConfig(config(mapping({ deletes: "deactivate" })), undefined, { onWarning: (w) => warnings.push(w) });
    expect(parsed.mappings[0]!.deletes).toBe("deactivate");
    expect(warnings).toEqual([expect.stringMatching(/^mappings\[0\]\.app\.inactiveField: not set/)]);
  });

  it("returns problems and warnings from validateSyncConfig without throwing", () => {
    const result = validateSyncConfig({ mappings: [] });
    expect(result).toEqual({ problems: ["mappings: expected at least 1 item; got an empty array"], warnings: [] });
  });
});

describe("loadSyncConfig", () => {
  it("reads and validates a file", async () => {
    const path = file("ok.json", JSON.stringify(config()));
    expect((await loadSyncConfig(path)).mappings[0]!.name).toBe("mentors");
  });

  it("reports a JSON syntax error with its line and column", async () => {
    const path = file("syntax.json", '{\n  "mappings": [\n    { "name": "x" }\n    { "name": "y" }\n  ]\n}');
    const problems = await asyncProblemsOf(() => loadSyncConfig(path));
    expect(problems).toEqual([expect.stringMatching(/^invalid JSON at line 4 column 5: /)]);
  });

  it("locates an unexpected token that V8 reports without a position", async () => {
    const path = file("token.json", '{\n  "schedule": }');
    const problems = await asyncProblemsOf(() => loadSyncConfig(path));
    expect(problems).toEqual([expect.stringMatching(/^invalid JSON at line 2 column 15: Unexpected token/)]);
  });

  it("says when the file does not exist and which setting moves it", async () => {
    const problems = await asyncProblemsOf(() => loadSyncConfig(join(dir, "nope.json")));
    expect(problems).toEqual(["cannot read the mapping file: no such file (set SYNC_CONFIG_PATH to its location)"]);
  });
});
