import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validateCommand } from "../../../shared/config/validateCommand.js";
import { config, mapping, repoRoot, validEnv } from "./factories.js";

const dir = mkdtempSync(join(tmpdir(), "d365-validate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const demo = join(repoRoot, "sync.config.json");

describe("validateCommand", () => {
  it("is ok for the demo mapping file and a complete environment", async () => {
    const result = await validateCommand({ config: demo, env: true, environment: validEnv() });
    expect(result).toEqual({ ok: true, problems: [], warnings: [] });
  });

  it("lists setting problems and mapping-file problems together", async () => {
    // Prepare
    const path = join(dir, "bad.json");
    writeFileSync(path, JSON.stringify(config(mapping({ deletes: "remove" as never }))));
    // Act
    const result = await validateCommand({ config: path, env: true, environment: validEnv({ APP_API_KEY: undefined, DYNAMICS_TENANT_ID: "x y" }) });
    // Assess
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      expect.stringMatching(/^DYNAMICS_TENANT_ID: /),
      expect.stringMatching(/^APP_API_KEY: required/),
      `${path}: mappings[0].deletes: expected one of propagate, deactivate, ignore; got "remove"`,
    ]);
  });

  it("accepts settings without ADMIN_API_KEY (npm run sync needs none) and warns, naming it, that the HTTP host does", async () => {
    const result = await validateCommand({ config: demo, env: true, environment: validEnv({ ADMIN_API_KEY: undefined }) });
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.warnings).toEqual([expect.stringMatching(/^ADMIN_API_KEY: not set; required where the HTTP routes are served \(npm start, the Functions app\)/)]);
  });

  it("checks only the mapping file unless env is asked for", async () => {
    const result = await validateCommand({ config: demo, environment: {} });
    expect(result.ok).toBe(true);
  });

  it("finds the mapping file through SYNC_CONFIG_PATH and reports warnings separately", async () => {
    // Prepare
    const path = join(dir, "warn.json");
    writeFileSync(path, JSON.stringify(config(mapping({ deletes: "deactivate" }))));
    // Act
    const result = await validateCommand({ env: true, environment: validEnv({ SYNC_CONFIG_PATH: path }) });
    // Assess
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([expect.stringMatching(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: mappings\\[0\\]\\.app\\.inactiveField: not set`))]);
  });
});
