/**
 * Code-level extension points registered by name: transforms, field mappers and record mappers.
 * The mapping file refers to them by name (`transforms`, a field's `mapper`, a mapping's `mapper`);
 * the config validator checks those names against `names()`.
 *
 * Register at start-up, before the config is validated (e.g. in a module imported by the
 * composition root). Tests build their own `new Registry()` so nothing leaks between them.
 */
import { ErrorCodes, SyncError } from "../errors.js";
import type { FieldMapping } from "../config/mapping.js";
import type { Canonical, DataverseRow } from "../ports.js";
import { builtinTransforms, defineTransform, type Transform, type TransformFn } from "./transforms.js";

/**
 * Replaces the built-in conversion of one field for the directions it implements; a missing
 * direction falls back to the built-in conversion for the field's `type`. Transforms and `default`
 * still run before `toCanonicalFrom*`. A mapper that throws fails the record as unmappable.
 */
export interface FieldMapper {
  toCanonicalFromApp?(value: unknown, field: FieldMapping): unknown;
  toCanonicalFromDataverse?(value: unknown, field: FieldMapping): unknown;
  toApp?(canonical: unknown, field: FieldMapping): unknown;
  toDataverse?(canonical: unknown, field: FieldMapping): unknown;
}

/**
 * Runs after the field-by-field mapping of a whole record and may change the result, e.g. derive
 * one canonical value from two app fields, or add a column no field maps.
 */
export interface RecordMapper {
  /** `data` is the app record's data; returns the canonical values to use. */
  fromApp?(data: Record<string, unknown>, canonical: Canonical): Canonical;
  fromDataverse?(row: DataverseRow, canonical: Canonical): Canonical;
  /** `data` is the app body built from `canonical`; returns the body to send. */
  toApp?(canonical: Canonical, data: Record<string, unknown>): Record<string, unknown>;
  toDataverse?(canonical: Canonical, body: Record<string, unknown>): Record<string, unknown>;
}

export interface RegisteredNames {
  transforms: ReadonlySet<string>;
  fieldMappers: ReadonlySet<string>;
  recordMappers: ReadonlySet<string>;
}

const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,99}$/;

function checkName(kind: string, name: string, taken: ReadonlyMap<string, unknown>): void {
  if (!NAME.test(name)) {
    throw new SyncError("validation", ErrorCodes.InvalidConfig,
      `${kind} name "${name}" is invalid: use letters, digits, '_', '-' and '.', starting with a letter`);
  }
  if (taken.has(name)) {
    // Silently replacing a mapper would change how existing records map; make it loud instead.
    throw new SyncError("validation", ErrorCodes.InvalidConfig, `${kind} "${name}" is already registered`);
  }
}

export class Registry {
  readonly transforms = new Map<string, Transform>(Object.entries(builtinTransforms));
  readonly fieldMappers = new Map<string, FieldMapper>();
  readonly recordMappers = new Map<string, RecordMapper>();

  registerTransform(name: string, fn: TransformFn, options: { reverse?: TransformFn } = {}): this {
    checkName("transform", name, this.transforms);
    this.transforms.set(name, defineTransform(name, fn, options.reverse));
    return this;
  }

  registerFieldMapper(name: string, mapper: FieldMapper): this {
    checkName("field mapper", name, this.fieldMappers);
    this.fieldMappers.set(name, Object.freeze({ ...mapper }));
    return this;
  }

  registerRecordMapper(name: string, mapper: RecordMapper): this {
    checkName("record mapper", name, this.recordMappers);
    this.recordMappers.set(name, Object.freeze({ ...mapper }));
    return this;
  }

  /** The names the config validator accepts. */
  names(): RegisteredNames {
    return {
      transforms: new Set(this.transforms.keys()),
      fieldMappers: new Set(this.fieldMappers.keys()),
      recordMappers: new Set(this.recordMappers.keys()),
    };
  }

  /** The record mapper a mapping names, or undefined when it names none; an unknown name throws. */
  recordMapperFor(name: string | undefined): RecordMapper | undefined {
    if (name === undefined) return undefined;
    const mapper = this.recordMappers.get(name);
    if (!mapper) throw new SyncError("validation", ErrorCodes.InvalidConfig, `record mapper "${name}" is not registered`);
    return mapper;
  }
}

/** The process-wide registry the product uses by default. */
export const defaultRegistry = new Registry();

export function registerTransform(name: string, fn: TransformFn, options?: { reverse?: TransformFn }): void {
  defaultRegistry.registerTransform(name, fn, options);
}

export function registerFieldMapper(name: string, mapper: FieldMapper): void {
  defaultRegistry.registerFieldMapper(name, mapper);
}

export function registerRecordMapper(name: string, mapper: RecordMapper): void {
  defaultRegistry.registerRecordMapper(name, mapper);
}
