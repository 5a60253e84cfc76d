import { FieldMapping, Mapping, type Mapping as MappingType } from "./mapping.js";

/** A mapping as far as it is well-formed, for the semantic checks of a file with shape problems. */
export interface MappingParts {
  /** The mapping; a malformed part holds a neutral stand-in (see `broken`), malformed fields are left out. */
  mapping: MappingType;
  /** Index in the file's mappings array, for the problem paths. */
  index: number;
  /** The well-formed fields with their index in the file. */
  fields: { field: FieldMapping; index: number }[];
  /** Every column a field names, well-formed or not: a key column mapped by a malformed field is still mapped. */
  columns: Set<string>;
  /** Top-level parts that are malformed (already reported): the checks that need them are skipped. */
  broken: Set<keyof MappingType>;
  /** Some part or field is malformed: checks that need the whole mapping (warnings) are skipped. */
  partial: boolean;
}

type Shape = typeof Mapping.shape;

/** Stand-ins for malformed parts: they make no check fail (the checks that would read them are skipped). */
const STAND_IN: { [K in keyof Shape]?: unknown } = {
  app: { entity: "?" },
  dataverse: { entitySet: "?", table: "?", key: [] },
  direction: "both",
  conflict: { strategy: "newest-wins" },
  deletes: "ignore",
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The well-formed parts of one raw mapping; undefined when it is not an object at all. */
export function wellFormedParts(raw: unknown, index: number): MappingParts | undefined {
  if (!isObject(raw)) return undefined;
  const whole = Mapping.safeParse(raw);
  const rawFields = Array.isArray(raw.fields) ? raw.fields : [];
  const columns = new Set(rawFields.map((f) => (isObject(f) ? f.dataverse : undefined)).filter((c): c is string => typeof c === "string"));
  if (whole.success) {
    return { mapping: whole.data, index, fields: whole.data.fields.map((field, i) => ({ field, index: i })), columns, broken: new Set(), partial: false };
  }
  const broken = new Set<keyof MappingType>();
  const mapping: Record<string, unknown> = {};
  for (const key of Object.keys(Mapping.shape) as (keyof Shape)[]) {
    if (key === "fields") continue;
    const part = Mapping.shape[key].safeParse(raw[key]);
    if (part.success) mapping[key] = part.data;
    else {
      broken.add(key);
      mapping[key] = STAND_IN[key];
    }
  }
  if (broken.has("name")) mapping.name = `#${index}`;
  const fields: MappingParts["fields"] = [];
  rawFields.forEach((rawField, i) => {
    const field = FieldMapping.safeParse(rawField);
    if (field.success) fields.push({ field: field.data, index: i });
  });
  mapping.fields = fields.map((f) => f.field);
  return { mapping: mapping as MappingType, index, fields, columns, broken, partial: true };
}
