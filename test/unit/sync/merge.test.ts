import { describe, expect, it } from "vitest";
import type { Canonical } from "../../../shared/ports.js";
import { mergeRecord, type MergeField, type SideState, type Strategy } from "../../../shared/sync/merge.js";

const fields: MergeField[] = [
  { name: "id", direction: "to-dataverse" },
  { name: "firstName", direction: "both" },
  { name: "score", direction: "both" },
  { name: "note", direction: "to-app" },
];
const base: Canonical = { id: "m-1", firstName: "Ingrid", score: 10, note: "n" };
const side = (values: Canonical, changedAt: string, changed = true): SideState => ({ values: { ...base, ...values }, changedAt, changed });
const EARLY = "2026-03-01T10:00:00.000Z";
const LATE = "2026-03-01T11:00:00.000Z";

describe("mergeRecord", () => {
  it("sends a field changed on the app side only to Dataverse, and nothing else", () => {
    const result = mergeRecord(fields, "newest-wins", side({ firstName: "Inga" }, EARLY), side({}, LATE), base);

    expect(result.toDataverse).toEqual({ firstName: "Inga" });
    expect(result.toApp).toEqual({});
    expect(result.conflicts).toEqual([]);
    expect(result.base).toEqual({ ...base, firstName: "Inga" });
  });

  it("sends a field changed in Dataverse only to the app even when the app record is newer", () => {
    const result = mergeRecord(fields, "newest-wins", side({}, LATE), side({ score: 99 }, EARLY), base);

    expect(result.toApp).toEqual({ score: 99 });
    expect(result.toDataverse).toEqual({});
    expect(result.conflicts).toEqual([]);
  });

  it("merges field by field: each side's one-sided change travels to the other", () => {
    const result = mergeRecord(fields, "newest-wins", side({ firstName: "Inga" }, EARLY), side({ score: 99 }, LATE), base);

    expect(result.toDataverse).toEqual({ firstName: "Inga" });
    expect(result.toApp).toEqual({ score: 99 });
    expect(result.base).toEqual({ ...base, firstName: "Inga", score: 99 });
  });

  it("gives a field changed on both sides to the app when the app record changed later (newest-wins)", () => {
    const result = mergeRecord(fields, "newest-wins", side({ score: 1 }, LATE), side({ score: 2 }, EARLY), base);

    expect(result.toDataverse).toEqual({ score: 1 });
    expect(result.toApp).toEqual({});
    expect(result.conflicts).toEqual([{ field: "score", app: 1, dataverse: 2, base: 10, winner: "app" }]);
  });

  it("gives a field changed on both sides to Dataverse when Dataverse changed later (newest-wins)", () => {
    const result = mergeRecord(fields, "newest-wins", side({ score: 1 }, EARLY), side({ score: 2 }, LATE), base);

    expect(result.toApp).toEqual({ score: 2 });
    expect(result.toDataverse).toEqual({});
    expect(result.conflicts[0].winner).toBe("dataverse");
  });

  it("breaks a tie of equal change times in favour of Dataverse (newest-wins)", () => {
    const result = mergeRecord(fields, "newest-wins", side({ score: 1 }, EARLY), side({ score: 2 }, EARLY), base);

    expect(result.toApp).toEqual({ score: 2 });
    expect(result.toDataverse).toEqual({});
    expect(result.conflicts[0].winner).toBe("dataverse");
  });

  it.each<[Strategy, "app" | "dataverse"]>([["app-wins", "app"], ["dataverse-wins", "dataverse"]])(
    "lets %s decide a both-sided change regardless of which side is newer",
    (strategy, winner) => {
      const appLater = mergeRecord(fields, strategy, side({ score: 1 }, LATE), side({ score: 2 }, EARLY), base);
      const dvLater = mergeRecord(fields, strategy, side({ score: 1 }, EARLY), side({ score: 2 }, LATE), base);

      for (const result of [appLater, dvLater]) {
        expect(result.conflicts[0].winner).toBe(winner);
        expect(result.base.score).toBe(winner === "app" ? 1 : 2);
        expect(winner === "app" ? result.toDataverse : result.toApp).toEqual({ score: winner === "app" ? 1 : 2 });
      }
    },
  );

  it("still merges one-sided changes of other fields under app-wins", () => {
    const result = mergeRecord(fields, "app-wins", side({ score: 1 }, EARLY), side({ score: 2, firstName: "Inge" }, LATE), base);

    expect(result.toDataverse).toEqual({ score: 1 });
    expect(result.toApp).toEqual({ firstName: "Inge" });
  });

  it("parks the whole record under manual: nothing is written and the base stays", () => {
    const result = mergeRecord(fields, "manual", side({ score: 1, firstName: "Inga" }, LATE), side({ score: 2 }, EARLY), base);

    expect(result.parked).toBe(true);
    expect(result.toDataverse).toEqual({});
    expect(result.toApp).toEqual({});
    expect(result.base.score).toBe(10);
    expect(result.conflicts).toEqual([{ field: "score", app: 1, dataverse: 2, base: 10, winner: "none" }]);
  });

  it("does not treat equal values on both sides as a conflict", () => {
    const result = mergeRecord(fields, "manual", side({ score: 5 }, LATE), side({ score: 5 }, EARLY), base);

    expect(result.parked).toBe(false);
    expect(result.conflicts).toEqual([]);
    expect(result.toDataverse).toEqual({});
    expect(result.toApp).toEqual({});
    expect(result.base.score).toBe(5);
  });

  it("ignores a side that is known not to have changed, even if its values differ from the base", () => {
    const stale = side({ score: 3 }, LATE, false);
    const result = mergeRecord(fields, "newest-wins", side({ score: 7 }, EARLY), stale, base);

    expect(result.toDataverse).toEqual({ score: 7 });
    expect(result.conflicts).toEqual([]);
  });

  it("treats every differing field as a conflict on first sync (no base)", () => {
    const app: SideState = { values: { id: "m-1", firstName: "A", score: 1, note: "x" }, changedAt: LATE, changed: true };
    const dv: SideState = { values: { id: "m-1", firstName: "A", score: 2, note: "y" }, changedAt: EARLY, changed: true };

    const result = mergeRecord(fields, "newest-wins", app, dv, undefined);

    expect(result.conflicts.map((c) => c.field)).toEqual(["score"]);
    expect(result.toDataverse).toEqual({ score: 1 });
    // A to-app field goes to the app whatever the strategy.
    expect(result.toApp).toEqual({ note: "y" });
  });

  it("never sends a to-dataverse field to the app nor a to-app field to Dataverse", () => {
    const result = mergeRecord(fields, "newest-wins", side({ note: "app edit" }, LATE), side({ id: "m-9" }, LATE), base);

    expect(result.toApp).toEqual({});
    expect(result.toDataverse).toEqual({});
    expect(result.conflicts).toEqual([]);
  });
});
