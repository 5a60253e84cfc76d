/**
 * Seed records for the generic app from the files a user points at (`--seed assets=./assets.csv`):
 * CSV with a header row, or JSON. Cells are typed by the mapping's field types, so a CSV of asset
 * numbers, prices and timestamps becomes the records an app would serve. Every problem names the
 * file, the line and the column.
 */
import { readFileSync } from "node:fs";
import { extname, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import type { FieldMapping, SyncConfig } from "../../../shared/config/mapping.js";
import { jsonNumber, parseJson } from "../../../shared/http/exactJson.js";
import { parseJsonText } from "../../../shared/config/jsonText.js";
import type { SeedData, SeedRecord } from "./seed.js";

export interface SeedFile {
  /** A mapping name or an app entity name. */
  target: string;
  path: string;
}

/** Parses `name=path` (the `--seed` option's value). */
export function parseSeedOption(value: string): SeedFile {
  const at = value.indexOf("=");
  if (at <= 0 || at === value.length - 1) throw new Error(`--seed ${value}: expected <mapping or app entity>=<file.csv|file.json>, e.g. --seed assets=./assets.csv`);
  return { target: value.slice(0, at), path: value.slice(at + 1) };
}

/** Reads every seed file; throws one Error listing every problem found. */
export function loadSeedFiles(files: SeedFile[], config: SyncConfig, cwd = process.cwd()): SeedData {
  const seed: SeedData = {};
  const problems: string[] = [];
  for (const file of files) {
    const mapping = config.mappings.find((m) => m.name === file.target) ?? config.mappings.find((m) => m.app.entity === file.target);
    if (!mapping) {
      const known = config.mappings.map((m) => `${m.name} (entity ${m.app.entity})`).join(", ");
      problems.push(`--seed ${file.target}=${file.path}: no mapping or app entity is named ${file.target}; the mapping file has ${known}`);
      continue;
    }
    const path = resolve(cwd, file.path);
    const records = readRecords(path, file.path, mapping.fields, problems);
    const list = (seed[mapping.app.entity] ??= []);
    const seen = new Set(list.map((r) => r.id));
    for (const r of records) {
      if (seen.has(r.id)) problems.push(`${file.path}: id ${r.id} appears more than once`);
      seen.add(r.id);
      list.push(r);
    }
  }
  if (problems.length) throw new Error(`seed files:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  return seed;
}

function readRecords(path: string, shown: string, fields: FieldMapping[], problems: string[]): SeedRecord[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    problems.push(`${shown}: cannot read it (${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message})`);
    return [];
  }
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return fromCsv(text, shown, fields, problems);
  if (ext === ".json") return fromJson(text, shown, problems);
  problems.push(`${shown}: a seed file must end in .csv or .json`);
  return [];
}

function fromCsv(text: string, shown: string, fields: FieldMapping[], problems: string[]): SeedRecord[] {
  let rows: { record: Record<string, string>; info: { lines: number } }[];
  try {
    rows = parse(text, { columns: true, bom: true, skip_empty_lines: true, info: true, trim: true });
  } catch (e) {
    problems.push(`${shown}: not valid CSV: ${(e as Error).message}`);
    return [];
  }
  const types = new Map(fields.map((f) => [f.app, f.type as string]));
  const out: SeedRecord[] = [];
  for (const { record, info } of rows) {
    const where = `${shown} line ${info.lines}`;
    const { id, updatedAt, ...cells } = record;
    if (!id) {
      problems.push(`${where}: the id column is missing or empty`);
      continue;
    }
    const data: Record<string, unknown> = {};
    for (const [column, cell] of Object.entries(cells)) {
      const typed = typedCell(cell, types.get(column));
      if (typed.problem) problems.push(`${where}, column ${column}: ${typed.problem}`);
      else data[column] = typed.value;
    }
    out.push({ id, data, ...(updatedAt ? { updatedAt: new Date(updatedAt).toISOString() } : {}) });
  }
  return out;
}

/** A CSV cell as the app would hold it for a field of this mapping type; empty is null. */
function typedCell(cell: string, type: string | undefined): { value?: unknown; problem?: string } {
  if (cell === "") return { value: null };
  switch (type) {
    case "number":
    case "decimal":
    case "money":
      // Exact digits: a price of 1234567.1234567891 stays those digits, never a rounded double.
      return /^-?\d+(\.\d+)?$/.test(cell) ? { value: jsonNumber(cell) } : { problem: `'${cell}' is not a number (digits with an optional '.')` };
    case "boolean":
      return cell === "true" || cell === "false" ? { value: cell === "true" } : { problem: `'${cell}' is not true or false` };
    case "datetime":
      return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(cell) && !Number.isNaN(Date.parse(cell))
        ? { value: cell } : { problem: `'${cell}' is not an ISO 8601 date-time with an offset (e.g. 2026-03-01T08:30:00Z)` };
    case "date":
      return /^\d{4}-\d{2}-\d{2}$/.test(cell) ? { value: cell } : { problem: `'${cell}' is not a date (YYYY-MM-DD)` };
    case "multichoice":
      return { value: cell.split(";").map((s) => s.trim()).filter(Boolean) };
    default:
      return { value: cell };
  }
}

/** `[{"id": "A-1", "field": …}]` or `[{"id": "A-1", "data": {…}, "updatedAt"?: …}]`. */
function fromJson(text: string, shown: string, problems: string[]): SeedRecord[] {
  let parsed: { value: unknown };
  try {
    // Exact numbers: a decimal a double cannot hold keeps its digits (exactJson.ts).
    parsed = { value: parseJson(text.replace(/^\uFEFF/, "")) };
  } catch {
    const checked = parseJsonText(text);
    problems.push(`${shown}: ${"problem" in checked ? checked.problem : "invalid JSON"}`);
    return [];
  }
  if (!Array.isArray(parsed.value)) {
    problems.push(`${shown}: expected a JSON array of records`);
    return [];
  }
  const out: SeedRecord[] = [];
  parsed.value.forEach((item: unknown, i: number) => {
    const where = `${shown} record ${i + 1}`;
    if (!item || typeof item !== "object" || Array.isArray(item)) return void problems.push(`${where}: not an object`);
    const { id, data, updatedAt, ...flat } = item as Record<string, unknown>;
    if (typeof id !== "string" || !id) return void problems.push(`${where}: "id" must be a non-empty string`);
    const fields = data && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : flat;
    out.push({ id, data: fields, ...(typeof updatedAt === "string" ? { updatedAt } : {}) });
  });
  return out;
}
