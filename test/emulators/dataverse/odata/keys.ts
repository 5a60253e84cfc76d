import { GuidPattern } from "../values.js";

/** One `name=value` (or bare value) inside `set(...)`. `name` is undefined for `set(<guid>)`. */
export interface KeyPart {
  name?: string;
  value: string | number | boolean;
}

export interface ResourcePath {
  entitySet: string;
  /** Present when the path addresses one record: `set(<key>)`. */
  key?: KeyPart[];
  /** Raw text between the parentheses, for echoing in OData-EntityId. */
  keyText?: string;
  /** Segments after `set` or `set(key)`, e.g. `["$count"]` or `["Microsoft.Dynamics.CRM.CreateMultiple"]`. */
  rest: string[];
}

/** Splits a decoded path relative to the service root, honouring quotes inside key values. */
export function parseResourcePath(relPath: string): ResourcePath | undefined {
  const segments = splitOutsideQuotes(relPath, "/");
  if (!segments.length || !segments[0]) return undefined;
  const first = segments[0];
  const open = first.indexOf("(");
  if (open < 0) return { entitySet: first, rest: segments.slice(1) };
  if (!first.endsWith(")")) return undefined;
  const keyText = first.slice(open + 1, -1);
  const key = parseKeyText(keyText);
  if (!key) return undefined;
  return { entitySet: first.slice(0, open), key, keyText, rest: segments.slice(1) };
}

export function parseKeyText(text: string): KeyPart[] | undefined {
  const parts = splitOutsideQuotes(text, ",");
  const out: KeyPart[] = [];
  for (const part of parts) {
    const eq = indexOutsideQuotes(part, "=");
    const name = eq < 0 ? undefined : part.slice(0, eq).trim();
    const value = parseLiteral((eq < 0 ? part : part.slice(eq + 1)).trim());
    if (value === undefined || (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))) return undefined;
    out.push({ name, value });
  }
  if (!out.length || (out.length > 1 && out.some((p) => p.name === undefined))) return undefined;
  return out;
}

/** An OData key/filter literal: 'text' (with '' escapes), number, true/false, or a bare GUID. */
export function parseLiteral(text: string): string | number | boolean | undefined {
  if (text.length >= 2 && text.startsWith("'") && text.endsWith("'")) {
    const inner = text.slice(1, -1);
    if (inner.replace(/''/g, "").includes("'")) return undefined;
    return inner.replace(/''/g, "'");
  }
  if (GuidPattern.test(text)) return text.toLowerCase();
  if (text === "true" || text === "false") return text === "true";
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return undefined;
}

export function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") inQuote = !inQuote;
    else if (ch === sep && !inQuote) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function indexOutsideQuotes(text: string, ch: string): number {
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "'") inQuote = !inQuote;
    else if (text[i] === ch && !inQuote) return i;
  }
  return -1;
}

/** Formats a key value for a URL the way Dataverse echoes it. */
export function formatKeyValue(value: unknown): string {
  if (typeof value === "string" && !GuidPattern.test(value)) return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}
