import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import { DEMO_MAPPING_PATH, demoExports, demoMappingWithFinops, FINOPS_DEMO_CONFIG_PATH } from "../../../shared/runtime/finopsDemo.js";

const read = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;

describe("the F&O demo of npm start", () => {
  it("adds the example's jobs to the demo mapping, which stays valid, and leaves other mapping files alone", () => {
    // Act
    const composed = demoMappingWithFinops(DEMO_MAPPING_PATH);
    const other = demoMappingWithFinops(FINOPS_DEMO_CONFIG_PATH);
    // Assess
    const demo = read(DEMO_MAPPING_PATH);
    expect(composed).toMatchObject({ schedule: demo.schedule, mappings: demo.mappings, finops: read(FINOPS_DEMO_CONFIG_PATH).finops });
    expect(composed).not.toHaveProperty("$schema");
    const config = parseSyncConfig(composed, "the composed demo mapping");
    expect(config.finops!.map((j) => [j.name, j.direction])).toEqual([["groups-to-finops", "to-finops"], ["invoices-from-finops", "from-finops"]]);
    expect(other).toBeUndefined();
  });

  it("seeds the demo's invoices only for the demo's export job", () => {
    // Prepare
    const config = parseSyncConfig(read(FINOPS_DEMO_CONFIG_PATH), "the F&O demo");
    const exportJob = config.finops!.find((j) => j.direction === "from-finops")!;
    const elsewhere = { ...config, finops: [{ ...exportJob, activityId: "C03BB937-09ED-46DE-86EE-4520D7D7E373" }] };
    // Act
    const seeded = demoExports(config);
    const none = demoExports(elsewhere);
    // Assess
    expect(seeded).toHaveLength(1);
    expect(seeded[0].activityId).toBe("9B47E2D0-1C6A-4F83-B5E9-2A7C0D4F6E18");
    expect(seeded[0].rows.map((r) => r.INVOICENUMBER)).toEqual(["INV-1001", "INV-1002", "INV-1003"]);
    expect(none).toEqual([]);
  });
});
