import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSyncConfig, mappingOrder } from "../../../shared/config/loadConfig.js";
import { loadSettings } from "../../../shared/config/settings.js";
import { LocalRunnerSettings, Settings } from "../../../shared/names.js";
import { repoRoot } from "./factories.js";

describe("the demo sync.config.json", () => {
  it("is valid, without warnings, and syncs groups before mentors", async () => {
    // Prepare
    const warnings: string[] = [];
    // Act
    const config = await loadSyncConfig(join(repoRoot, "sync.config.json"), { onWarning: (w) => warnings.push(w) });
    // Assess
    expect(warnings).toEqual([]);
    expect(config.schedule).toBe("0 0 2 * * *");
    expect(mappingOrder(config)).toEqual(["groups", "mentors"]);
    const mentors = config.mappings.find((m) => m.name === "mentors")!;
    expect(mentors).toMatchObject({ deletes: "deactivate", app: { inactiveField: { field: "active", value: false } } });
    expect(mentors.fields.find((f) => f.app === "groupId")).toMatchObject({ type: "lookup", lookup: { mapping: "groups", navigationProperty: "hlf_GroupId" } });
  });

  it("points editors at the committed JSON Schema", () => {
    const raw = JSON.parse(readFileSync(join(repoRoot, "sync.config.json"), "utf8")) as { $schema?: string };
    expect(raw.$schema).toBe("./sync.config.schema.json");
  });
});

describe("local.settings.sample.json", () => {
  const sample = JSON.parse(readFileSync(join(repoRoot, "local.settings.sample.json"), "utf8")) as { Values: Record<string, string> };

  it("lists every setting of the contract and the local runner", () => {
    const names = [...Object.values(Settings), ...Object.values(LocalRunnerSettings), "FUNCTIONS_WORKER_RUNTIME"];
    expect(Object.keys(sample.Values).sort()).toEqual([...names].sort());
    expect(sample.Values).toMatchObject({ FUNCTIONS_WORKER_RUNTIME: "node", AzureWebJobsStorage: "UseDevelopmentStorage=true" });
  });

  it("holds no secret values: the settings only load once secrets are filled in", () => {
    // Prepare
    const filled = { ...sample.Values, DYNAMICS_CLIENT_SECRET: "client-secret-value", APP_API_KEY: "app-key", ADMIN_API_KEY: "admin-key-0123456789" };
    // Act
    const settings = loadSettings(filled);
    // Assess
    expect(() => loadSettings(sample.Values)).toThrow(/APP_API_KEY: required/);
    expect(settings.dynamics.credential.kind).toBe("client-secret");
    expect(settings.webhooks).toEqual({});
  });
});
