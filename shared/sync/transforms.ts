/**
 * Named value transforms (`"transforms": ["trim", "lowercase"]` on a field mapping).
 *
 * A transform is pure and runs, in the listed order, on every value that enters the canonical form
 * — from the app and from Dataverse alike — before the type conversion and before `default`.
 * Running it on both inbound sides is what keeps a sync stable: with `nullIfEmpty` on the app side
 * only, an app "" would never equal the null that Dataverse stores for "", and the record would be
 * rewritten on every run.
 *
 * A transform may declare `reverse`: then it is reversible, and the reverses run (last transform
 * first) on the way out of the canonical form to either side. The built-ins lose information (case,
 * white space, "" vs null) and so are not reversible.
 *
 * Built-ins leave values they do not apply to (numbers, booleans, null for the string ones) as they are.
 * More transforms are added by name with `registerTransform` in registry.ts.
 */

export type TransformFn = (value: unknown) => unknown;

export interface Transform {
  readonly name: string;
  readonly apply: TransformFn;
  /** Undoes `apply` on the way out of the canonical form; present only for reversible transforms. */
  readonly reverse?: TransformFn;
  readonly reversible: boolean;
}

export function defineTransform(name: string, apply: TransformFn, reverse?: TransformFn): Transform {
  return Object.freeze({ name, apply, reverse, reversible: reverse !== undefined });
}

const onStrings = (fn: (s: string) => unknown): TransformFn => (value) => (typeof value === "string" ? fn(value) : value);

export const builtinTransforms: Readonly<Record<string, Transform>> = Object.freeze({
  trim: defineTransform("trim", onStrings((s) => s.trim())),
  lowercase: defineTransform("lowercase", onStrings((s) => s.toLowerCase())),
  uppercase: defineTransform("uppercase", onStrings((s) => s.toUpperCase())),
  nullIfEmpty: defineTransform("nullIfEmpty", (value) => (value === "" ? null : value)),
  emptyIfNull: defineTransform("emptyIfNull", (value) => (value === null || value === undefined ? "" : value)),
});

/** Lookup of transforms by name; the registry provides one. */
export interface TransformTable {
  get(name: string): Transform | undefined;
}

/**
 * Applies the named transforms in order. Returns `{ missing }` instead of a value when a name is not
 * registered, so the caller can raise its own error with the field's context.
 */
export function applyTransforms(
  names: readonly string[] | undefined,
  value: unknown,
  table: TransformTable,
): { ok: true; value: unknown } | { ok: false; missing: string } {
  let current = value;
  for (const name of names ?? []) {
    const transform = table.get(name);
    if (!transform) return { ok: false, missing: name };
    current = transform.apply(current);
  }
  return { ok: true, value: current };
}

/** Runs the reverses of the reversible transforms, last first; irreversible ones are skipped. */
export function reverseTransforms(
  names: readonly string[] | undefined,
  value: unknown,
  table: TransformTable,
): { ok: true; value: unknown } | { ok: false; missing: string } {
  let current = value;
  for (const name of [...(names ?? [])].reverse()) {
    const transform = table.get(name);
    if (!transform) return { ok: false, missing: name };
    if (transform.reverse) current = transform.reverse(current);
  }
  return { ok: true, value: current };
}
