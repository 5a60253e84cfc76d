/**
 * Just enough of JSON Schema 2020-12 to hold responses to docs/openapi/app-sync-api.json
 * (no validator package is installed). Unknown keywords fail loudly so the document cannot
 * silently outgrow the check.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export type Schema = Record<string, unknown>;
export type OpenApiDoc = { paths: Record<string, Record<string, { responses: Record<string, Schema> }>>; components: Record<string, Record<string, Schema>> };

export function loadAppSyncApi(): OpenApiDoc {
  const path = fileURLToPath(new URL("../../../docs/openapi/app-sync-api.json", import.meta.url));
  return JSON.parse(readFileSync(path, "utf8")) as OpenApiDoc;
}

const KNOWN = new Set(["$ref", "type", "required", "properties", "additionalProperties", "items", "enum", "not", "anyOf", "minimum", "maximum", "minLength", "pattern", "format", "description", "default", "example"]);

function resolve(doc: OpenApiDoc, node: Schema): Schema {
  let current = node;
  while (typeof current.$ref === "string") {
    const parts = current.$ref.replace(/^#\//, "").split("/");
    current = parts.reduce<unknown>((n, p) => (n as Record<string, unknown>)[p], doc) as Schema;
  }
  return current;
}

/** The documented JSON schema for an operation's response, or undefined when the status is not documented. */
export function responseSchema(doc: OpenApiDoc, path: string, method: string, status: number): { schema?: Schema } | undefined {
  const responses = doc.paths[path]?.[method.toLowerCase()]?.responses;
  const documented = responses?.[String(status)];
  if (!documented) return undefined;
  const response = resolve(doc, documented) as { content?: Record<string, { schema: Schema }> };
  return { schema: response.content?.["application/json"]?.schema };
}

/** Problems with `value` against `schema`, as JSON-pointer-ish messages (empty when it conforms). */
export function validate(doc: OpenApiDoc, schema: Schema, value: unknown, at = "$"): string[] {
  const s = resolve(doc, schema);
  const unknown = Object.keys(s).filter((k) => !KNOWN.has(k));
  if (unknown.length) return [`${at}: schema uses unsupported keywords ${unknown.join(", ")}`];
  const errors: string[] = [];
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => hasType(value, t))) return [`${at}: expected ${types.join("|")}, got ${JSON.stringify(value)}`];
  }
  if (Array.isArray(s.enum) && !s.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) errors.push(`${at}: below ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) errors.push(`${at}: above ${s.maximum}`);
  }
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength) errors.push(`${at}: shorter than ${s.minLength}`);
    if (s.format === "date-time" && (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(Date.parse(value)))) errors.push(`${at}: not a date-time`);
    if (s.format === "date" && !/^\d{4}-\d{2}-\d{2}$/.test(value)) errors.push(`${at}: not a date`);
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) errors.push(`${at}: does not match ${s.pattern}`);
  }
  if (isObject(value)) {
    for (const key of (s.required as string[] | undefined) ?? []) if (!(key in value)) errors.push(`${at}: missing ${key}`);
    const props = (s.properties as Record<string, Schema> | undefined) ?? {};
    for (const [key, v] of Object.entries(value)) {
      if (props[key]) errors.push(...validate(doc, props[key], v, `${at}.${key}`));
      else if (s.additionalProperties === false) errors.push(`${at}: unexpected property ${key}`);
    }
  }
  if (Array.isArray(value) && s.items) value.forEach((item, i) => errors.push(...validate(doc, s.items as Schema, item, `${at}[${i}]`)));
  if (s.not && validate(doc, s.not as Schema, value, at).length === 0) errors.push(`${at}: matches a schema it must not match`);
  if (Array.isArray(s.anyOf) && !(s.anyOf as Schema[]).some((option) => validate(doc, option, value, at).length === 0)) {
    errors.push(`${at}: ${JSON.stringify(value)} matches none of the allowed forms`);
  }
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null": return value === null;
    case "object": return isObject(value);
    case "array": return Array.isArray(value);
    case "integer": return Number.isInteger(value);
    case "number": return typeof value === "number";
    default: return typeof value === type;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
