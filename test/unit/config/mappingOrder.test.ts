import { describe, expect, it } from "vitest";
import { isConfigError } from "../../../shared/config/configError.js";
import { parseSyncConfig } from "../../../shared/config/loadConfig.js";
import type { Mapping } from "../../../shared/config/mapping.js";
import { findLookupCycle, mappingOrder } from "../../../shared/config/mappingOrder.js";
import { config, mapping } from "./factories.js";

const keyField = { app: "id", dataverse: "k", type: "string" } as const;

function withLookups(name: string, ...targets: string[]): Mapping {
  const fields = [keyField, ...targets.map((t) => ({ app: `${t}Id`, dataverse: `${t}id`, type: "lookup" as const, lookup: { mapping: t } }))];
  return mapping({ name, dataverse: { entitySet: `${name}s`, table: name, key: ["k"] }, fields }) as Mapping;
}

describe("mappingOrder", () => {
  it("puts lookup targets before the mappings that look them up", () => {
    // Prepare: children first in the file
    const mappings = [withLookups("activities", "mentors", "groups"), withLookups("mentors", "groups"), withLookups("groups")];
    // Act
    const order = mappingOrder({ mappings });
    // Assess
    expect(order).toEqual(["groups", "mentors", "activities"]);
  });

  it("keeps file order for independent mappings and ignores self-references", () => {
    expect(mappingOrder({ mappings: [withLookups("b", "b"), withLookups("a")] })).toEqual(["b", "a"]);
  });

  it("throws a ConfigError naming the cycle", () => {
    const mappings = [withLookups("a", "b"), withLookups("b", "c"), withLookups("c", "a")];
    let thrown: unknown;
    try { mappingOrder({ mappings }); } catch (e) { thrown = e; }
    expect(isConfigError(thrown) && thrown.problems).toEqual(["mappings: lookups form a cycle: a -> b -> c -> a (each looks up the next)"]);
    expect(findLookupCycle([withLookups("a", "a")])).toBeUndefined();
  });

  it("orders a parsed config", () => {
    const parsed = parseSyncConfig(config(withLookups("child", "parent"), withLookups("parent")));
    expect(mappingOrder(parsed)).toEqual(["parent", "child"]);
  });
});
