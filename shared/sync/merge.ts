import type { Canonical } from "../ports.js";
import type { Direction } from "../config/mapping.js";
import { canonicalEquals } from "./values.js";

export type Strategy = "newest-wins" | "dataverse-wins" | "app-wins" | "manual";

export interface MergeField {
  name: string;
  direction: Direction;
}

export interface SideState {
  values: Canonical;
  /** app updatedAt / Dataverse modifiedon (ISO). */
  changedAt?: string;
  /** false when this side is known not to have changed since the base (not in the change feed). */
  changed: boolean;
}

export interface ConflictField {
  field: string;
  app: unknown;
  dataverse: unknown;
  base: unknown;
  winner: "app" | "dataverse" | "none";
}

export interface MergeResult {
  /** Fields to write to Dataverse (canonical values). */
  toDataverse: Canonical;
  /** Fields to write to the app. */
  toApp: Canonical;
  /** Values both sides hold afterwards (the new base). */
  base: Canonical;
  conflicts: ConflictField[];
  /** `manual` strategy met a conflict: nothing may be written for this record. */
  parked: boolean;
}

/**
 * Field-level three-way merge of one linked (or key-matched) record. `base` is undefined on first
 * sync: then every differing field counts as changed on both sides (a conflict resolved by strategy).
 * A side that did not change uses the base values, so only real changes travel.
 */
export function mergeRecord(
  fields: MergeField[],
  strategy: Strategy,
  app: SideState,
  dataverse: SideState,
  base: Canonical | undefined,
): MergeResult {
  const result: MergeResult = { toDataverse: {}, toApp: {}, base: {}, conflicts: [], parked: false };
  for (const { name, direction } of fields) {
    const a = app.values[name] ?? null;
    const d = dataverse.values[name] ?? null;
    const b = base ? (base[name] ?? null) : undefined;
    const appChanged = base === undefined ? true : app.changed && !canonicalEquals(a, b);
    const dvChanged = base === undefined ? true : dataverse.changed && !canonicalEquals(d, b);

    if (direction === "to-dataverse") {
      if (!canonicalEquals(a, d) && (appChanged || base === undefined)) result.toDataverse[name] = a;
      result.base[name] = a;
      continue;
    }
    if (direction === "to-app") {
      if (!canonicalEquals(a, d) && (dvChanged || base === undefined)) result.toApp[name] = d;
      result.base[name] = d;
      continue;
    }
    if (canonicalEquals(a, d)) {
      result.base[name] = a;
    } else if (appChanged && !dvChanged) {
      result.toDataverse[name] = a;
      result.base[name] = a;
    } else if (dvChanged && !appChanged) {
      result.toApp[name] = d;
      result.base[name] = d;
    } else {
      const winner = pickWinner(strategy, app, dataverse);
      result.conflicts.push({ field: name, app: a, dataverse: d, base: b ?? null, winner });
      if (winner === "app") {
        result.toDataverse[name] = a;
        result.base[name] = a;
      } else if (winner === "dataverse") {
        result.toApp[name] = d;
        result.base[name] = d;
      } else {
        result.parked = true;
        result.base[name] = b ?? null;
      }
    }
  }
  if (result.parked) {
    result.toApp = {};
    result.toDataverse = {};
  }
  return result;
}

function pickWinner(strategy: Strategy, app: SideState, dataverse: SideState): "app" | "dataverse" | "none" {
  switch (strategy) {
    case "app-wins":
      return "app";
    case "dataverse-wins":
      return "dataverse";
    case "manual":
      return "none";
    case "newest-wins": {
      const a = app.changedAt ? Date.parse(app.changedAt) : Number.NEGATIVE_INFINITY;
      const d = dataverse.changedAt ? Date.parse(dataverse.changedAt) : Number.NEGATIVE_INFINITY;
      return a > d ? "app" : "dataverse"; // a tie goes to Dataverse (product.md)
    }
  }
}
