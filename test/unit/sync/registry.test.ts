import { describe, expect, it } from "vitest";
import { Registry, defaultRegistry, registerFieldMapper, registerRecordMapper, registerTransform } from "../../../shared/sync/registry.js";
import { SyncError } from "../../../shared/errors.js";

describe("Registry", () => {
  it("starts with the built-in transforms and no mappers", () => {
    const names = new Registry().names();
    expect([...names.transforms].sort()).toEqual(["emptyIfNull", "lowercase", "nullIfEmpty", "trim", "uppercase"]);
    expect(names.fieldMappers.size).toBe(0);
    expect(names.recordMappers.size).toBe(0);
  });

  it("lists registered names for the config validator", () => {
    // Prepare
    const registry = new Registry();
    // Act
    registry.registerTransform("digitsOnly", (v) => v).registerFieldMapper("phone", {}).registerRecordMapper("fullName", {});
    // Assess
    const names = registry.names();
    expect(names.transforms.has("digitsOnly")).toBe(true);
    expect(names.fieldMappers.has("phone")).toBe(true);
    expect(names.recordMappers.has("fullName")).toBe(true);
  });

  it("refuses to register a name twice, including a built-in", () => {
    const registry = new Registry().registerFieldMapper("phone", {});
    expect(() => registry.registerFieldMapper("phone", {})).toThrow(/already registered/);
    expect(() => registry.registerTransform("trim", (v) => v)).toThrow(SyncError);
  });

  it("refuses names the mapping file could not spell", () => {
    expect(() => new Registry().registerRecordMapper("has space", {})).toThrow(/invalid/);
    expect(() => new Registry().registerTransform("", (v) => v)).toThrow(/invalid/);
  });

  it("keeps registries apart", () => {
    const a = new Registry().registerFieldMapper("onlyInA", {});
    expect(a.names().fieldMappers.has("onlyInA")).toBe(true);
    expect(new Registry().names().fieldMappers.has("onlyInA")).toBe(false);
  });

  it("returns a mapping's record mapper and fails loudly on an unknown one", () => {
    // Prepare
    const mapper = { fromApp: (_data: Record<string, unknown>, canonical: Record<string, unknown>) => ({ ...canonical, x: 1 }) };
    const registry = new Registry().registerRecordMapper("addX", mapper);
    // Act
    const found = registry.recordMapperFor("addX");
    // Assess
    expect(found?.fromApp?.({}, { a: 1 })).toEqual({ a: 1, x: 1 });
    expect(registry.recordMapperFor(undefined)).toBeUndefined();
    expect(() => registry.recordMapperFor("missing")).toThrow(/not registered/);
  });

  it("registers into the default registry through the module functions", () => {
    registerTransform("testSuffix", (v) => `${String(v)}!`);
    registerFieldMapper("testMapper", {});
    registerRecordMapper("testRecord", {});
    const names = defaultRegistry.names();
    expect(defaultRegistry.transforms.get("testSuffix")?.apply("a")).toBe("a!");
    expect(names.fieldMappers.has("testMapper")).toBe(true);
    expect(names.recordMappers.has("testRecord")).toBe(true);
  });
});
