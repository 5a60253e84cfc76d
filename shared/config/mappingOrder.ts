import { ErrorCodes } from "../errors.js";
import { ConfigError } from "./configError.js";
import type { Mapping, SyncConfig } from "./mapping.js";

/** For each mapping, the other mappings its lookups resolve through (self-references do not order). */
function parentsOf(mappings: readonly Mapping[]): Map<string, string[]> {
  const names = new Set(mappings.map((m) => m.name));
  const parents = new Map<string, string[]>();
  for (const m of mappings) {
    const targets = m.fields
      .map((f) => f.lookup?.mapping)
      .filter((t): t is string => t !== undefined && t !== m.name && names.has(t));
    parents.set(m.name, [...new Set(targets)]);
  }
  return parents;
}

/** A cycle of lookups as `[a, b, a]` (a looks up b, b looks up a), or undefined when there is none. */
export function findLookupCycle(mappings: readonly Mapping[]): string[] | undefined {
  const parents = parentsOf(mappings);
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "visiting");
    stack.push(name);
    for (const parent of parents.get(name) ?? []) {
      const cycle = visit(parent);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const m of mappings) {
    const cycle = visit(m.name);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Mapping names with lookup targets before the mappings that look them up (parents before
 * children), otherwise in file order, so a run can resolve lookups through links made earlier.
 */
export function mappingOrder(config: Pick<SyncConfig, "mappings">): string[] {
  const cycle = findLookupCycle(config.mappings);
  if (cycle) {
    throw new ConfigError(ErrorCodes.InvalidConfig, "Invalid mapping file", [`mappings: lookups form a cycle: ${cycle.join(" -> ")} (each looks up the next)`]);
  }
  const parents = parentsOf(config.mappings);
  const placed = new Set<string>();
  const order: string[] = [];
  const place = (name: string): void => {
    if (placed.has(name)) return;
    placed.add(name);
    for (const parent of parents.get(name) ?? []) place(parent);
    order.push(name);
  };
  for (const m of config.mappings) place(m.name);
  return order;
}
