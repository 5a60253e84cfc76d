import type { Canonical, Divergence } from "../ports.js";
import type { DecideContext, Decisions, Pair } from "./decide.js";
import { hashCanonical } from "./hash.js";
import type { MergeField } from "./merge.js";
import { canonicalEquals } from "./values.js";

/**
 * Divergence, as a reconcile run counts it: how far the two sides had drifted apart *before* the run
 * repaired anything. Reconciliation is the safety net for changes the change feeds never showed (a
 * change-tracking outage, an app write that skipped its feed), so a healthy sync reports 0.
 *
 * After the mapping's filters (a record a filter leaves out is not synced, so it cannot diverge), a
 * record diverges when:
 * - **both sides hold it** (linked, or matched by key) and their canonical values disagree on at
 *   least one mapped field, respecting the field's direction:
 *   - `both`: the two values differ;
 *   - one-way (`to-dataverse`, `to-app`): the target does not hold the source's value, and the source
 *     moved away from the link's base (or there is no base yet). A target-side edit of a one-way field
 *     whose source never changed is what the mapping allows (merge.ts leaves it), not a divergence.
 *   Those fields are the record's diverged fields.
 * - **it is linked and gone from one side** while the other still holds it (the decision deletes,
 *   deactivates or unlinks). Gone from both sides is not, nor gone from Dataverse while the app record
 *   is already inactive under `deactivate` (the tombstone of a delete that was synced).
 * - **it is unlinked and present on one side only**, and the decision would create it on the other
 *   (the mapping writes some field that way; under `deactivate` an inactive Dataverse row stands for
 *   a deleted record, so it is not).
 *
 * A record missing on one side counts in `records` only: `fields` counts the fields on which two
 * present records disagree. A record whose values cannot be converted is a failure (dead-lettered
 * with its reason), not a divergence. A linked record seen on one side only without being gone
 * (possible in deltas, never in the complete reads of a reconcile run) cannot be judged and is left out.
 */
export function noteDivergence(ctx: DecideContext, pair: Pair, appVals: Canonical | undefined, dvVals: Canonical | undefined, out: Decisions): void {
  if (pair.appGone || pair.dvGone) {
    if (pair.link && !(pair.appGone && pair.dvGone) && !(pair.dvGone && deletedInAppAlready(ctx, pair))) count(out.divergence, []);
    return;
  }
  if (appVals && dvVals) {
    const fields = divergedFields(ctx.mapping.mergeFields, appVals, dvVals, pair.link?.base);
    if (fields.length) count(out.divergence, fields);
    return;
  }
  if (pair.link) return;
  if (appVals && ctx.mapping.writableTo("dataverse").length) count(out.divergence, []);
  if (dvVals && ctx.mapping.writableTo("app").length && !(ctx.mapping.mapping.deletes === "deactivate" && isInactiveRow(pair))) count(out.divergence, []);
}

/**
 * The fields on which two present records disagree (see noteDivergence). Whole records are compared
 * by hash first, so the common case (in sync) costs two hashes and no per-field work.
 */
export function divergedFields(fields: MergeField[], appVals: Canonical, dvVals: Canonical, base: Canonical | undefined): string[] {
  if (hashCanonical(appVals) === hashCanonical(dvVals)) return [];
  const out: string[] = [];
  for (const { name, direction } of fields) {
    const a = appVals[name] ?? null;
    const d = dvVals[name] ?? null;
    if (canonicalEquals(a, d)) continue;
    if (direction === "both" || !base) out.push(name);
    else if (!canonicalEquals(direction === "to-dataverse" ? a : d, base[name] ?? null)) out.push(name);
  }
  return out;
}

/** Adds one diverged record (and its fields) to a divergence. */
function count(divergence: Divergence, fields: string[]): void {
  divergence.records += 1;
  for (const f of fields) divergence.fields[f] = (Object.hasOwn(divergence.fields, f) ? divergence.fields[f] : 0) + 1;
}

/** As decide.ts: under `deactivate`, an app record holding the inactive value was deleted already. */
function deletedInAppAlready(ctx: DecideContext, pair: Pair): boolean {
  const m = ctx.mapping.mapping;
  return m.deletes === "deactivate" && !!m.app.inactiveField && !!pair.app && canonicalEquals(pair.app.data?.[m.app.inactiveField.field], m.app.inactiveField.value);
}

/** As decide.ts: a Dataverse row whose statecode is set and not 0 (active). */
function isInactiveRow(pair: Pair): boolean {
  const state = pair.dv?.["statecode"];
  return state !== undefined && state !== null && Number(state) !== 0;
}
