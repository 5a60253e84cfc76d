/**
 * What `npm start -- --config … [--schema …] [--seed …]` puts in the emulators, and how it reports
 * inputs it cannot use; and the standalone emulator's command line.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { loadSyncConfig } from "../../../shared/config/loadConfig.js";
import { emulatorInputs } from "../../../shared/runtime/emulatorStack.js";
import { ExactNumber } from "../../../shared/http/exactJson.js";
import { DEMO_SCHEMA_PATH } from "../../emulators/dataverse/emulator.js";
import { root } from "./stackProcess.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function files(entries: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "d365-inputs-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(entries)) writeFileSync(join(dir, name), text);
  return dir;
}

const cmms = () => loadSyncConfig(join(root, "examples/cmms/sync.config.json"));

describe("emulator inputs for a mapping file", () => {
  it("types a seed CSV by the mapping's fields: exact decimals, datetimes, empty cells as null", async () => {
    const dir = files({
      "assets.csv": "\uFEFFid,assetNumber,name,purchasePrice,ratedPowerKw,lastServiceAt,criticality,note\n" +
        "ast-9,A-9,\"Pump, spare\",1234567.1234567891,0.5,2026-01-02T03:04:05Z,low,\n",
    });

    const inputs = emulatorInputs(await cmms(), { seeds: [`asset=${join(dir, "assets.csv")}`] });
    const record = inputs.appSeed!.asset[0];

    expect(inputs.demo).toBe(false);
    expect(inputs.appEntities).toEqual(["asset", "purchaseOrder"]);
    expect(record.id).toBe("ast-9");
    expect(record.data).toMatchObject({ assetNumber: "A-9", name: "Pump, spare", ratedPowerKw: 0.5, lastServiceAt: "2026-01-02T03:04:05Z", criticality: "low", note: null });
    expect(record.data.purchasePrice).toBeInstanceOf(ExactNumber);
    expect(String(record.data.purchasePrice)).toBe("1234567.1234567891");
  });

  it("reads a JSON seed of flat records, keeping exact numbers", async () => {
    const dir = files({ "assets.json": '[{"id":"ast-1","assetNumber":"A-1","purchasePrice":1234567.1234567891}]' });

    const inputs = emulatorInputs(await cmms(), { seeds: [`assets=${join(dir, "assets.json")}`] });

    expect(inputs.appSeed!.asset.map((r) => r.id)).toEqual(["ast-1"]);
    expect(String(inputs.appSeed!.asset[0].data.purchasePrice)).toBe("1234567.1234567891");
  });

  it("names every bad cell, a missing id and an unknown entity with the file, line and column", async () => {
    const dir = files({
      "assets.csv": "id,assetNumber,purchasePrice,lastServiceAt\nast-1,A-1,12.5x,2026-01-02\n,A-2,1,\n",
    });

    const config = await cmms();
    const error = (() => {
      try {
        emulatorInputs(config, { seeds: [`assets=${join(dir, "assets.csv")}`, `orders=${join(dir, "orders.csv")}`] });
      } catch (e) {
        return e;
      }
    })();

    expect(() => emulatorInputs(config, { seeds: ["no-equals-sign"] })).toThrow("--seed no-equals-sign: expected <mapping or app entity>=<file.csv|file.json>");
    expect(String(error)).toContain("assets.csv line 2, column purchasePrice: '12.5x' is not a number");
    expect(String(error)).toContain("assets.csv line 2, column lastServiceAt: '2026-01-02' is not an ISO 8601 date-time with an offset");
    expect(String(error)).toContain("assets.csv line 3: the id column is missing or empty");
    expect(String(error)).toContain("no mapping or app entity is named orders; the mapping file has assets (entity asset)");
  });

  it("keeps the demo schema and seed for the demo mapping, and makes tables for any other", async () => {
    const demo = emulatorInputs(await loadSyncConfig(join(root, "sync.config.json")));
    const other = emulatorInputs(await cmms());

    expect(demo).toMatchObject({ schema: DEMO_SCHEMA_PATH, demo: true, appSeed: undefined });
    expect(other.demo).toBe(false);
    expect((other.schema as { tables: { entitySetName: string }[] }).tables.map((t) => t.entitySetName)).toEqual(["msdyn_customerassets", "msdyn_purchaseorders"]);
    expect(other.appSeed).toEqual({});
  });
});

/** `npm run emulator -- <args>` (the script behind it), to its exit. */
function emulatorCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const tsx = pathToFileURL(join(root, "node_modules/tsx/dist/loader.mjs")).href;
  const child = spawn(process.execPath, ["--import", tsx, join(root, "test/emulators/dataverse/main.ts"), ...args], { cwd: files({}), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, output })));
}

describe("npm run emulator", { timeout: 120_000 }, () => {
  it("prints its usage for --help and exits 0", async () => {
    const { code, output } = await emulatorCli(["--help"]);

    expect(code).toBe(0);
    expect(output).toContain("Usage: npm run emulator -- [options]");
    expect(output).toContain("--config <file>");
  });

  it("names an unknown option and exits 1 without a stack trace", async () => {
    const { code, output } = await emulatorCli(["--tables", "x.json"]);

    expect(code).toBe(1);
    expect(output).toContain("dataverse emulator: Unknown option '--tables'");
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("names a schema file it cannot read and exits 1", async () => {
    const { code, output } = await emulatorCli(["--schema", "missing.json", "--port", "0"]);

    expect(code).toBe(1);
    expect(output).toContain("dataverse emulator: Emulator schema missing.json: cannot read it (no such file)");
    expect(output).not.toMatch(/\n\s+at /);
  });
});
