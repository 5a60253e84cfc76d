import { Errors } from "../dataverseErrors.js";
import { isLookupType, type ColumnDef, type TableDef } from "../schema.js";
import type { Row } from "../store.js";
import { GuidPattern, isLookupValue } from "../values.js";

type Node =
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "not"; expr: Node }
  | { kind: "cmp"; op: string; left: Node; right: Node }
  | { kind: "fn"; name: string; args: Node[] }
  | { kind: "prop"; column: ColumnDef }
  | { kind: "lit"; value: string | number | boolean | null };

const CompareOps = new Set(["eq", "ne", "gt", "ge", "lt", "le"]);
const Functions = new Set(["contains", "startswith", "endswith"]);

/** Compiles an OData `$filter` into a row predicate (the subset Dataverse clients use for sync). */
export function compileFilter(text: string, def: TableDef): (row: Row) => boolean {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const expect = (t: string) => {
    if (next() !== t) throw Errors.badQuery(`Syntax error at position ${pos} in '${text}'.`);
  };

  const parseOr = (): Node => {
    let left = parseAnd();
    while (peek() === "or") { next(); left = { kind: "or", left, right: parseAnd() }; }
    return left;
  };
  const parseAnd = (): Node => {
    let left = parseNot();
    while (peek() === "and") { next(); left = { kind: "and", left, right: parseNot() }; }
    return left;
  };
  const parseNot = (): Node => {
    if (peek() === "not") { next(); return { kind: "not", expr: parseNot() }; }
    const left = parsePrimary();
    if (peek() !== undefined && CompareOps.has(peek())) {
      const op = next();
      return { kind: "cmp", op, left, right: parsePrimary() };
    }
    return left;
  };
  const parsePrimary = (): Node => {
    const t = next();
    if (t === undefined) throw Errors.badQuery(`Syntax error: unexpected end of '${text}'.`);
    if (t === "(") { const e = parseOr(); expect(")"); return e; }
    if (t.startsWith("'")) return { kind: "lit", value: t.slice(1, -1).replace(/''/g, "'") };
    if (t === "null") return { kind: "lit", value: null };
    if (t === "true" || t === "false") return { kind: "lit", value: t === "true" };
    if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDfFlL]?$/.test(t)) return { kind: "lit", value: Number(t.replace(/[mMdDfFlL]$/, "")) };
    if (GuidPattern.test(t) || /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(t)) return { kind: "lit", value: t };
    if (peek() === "(") {
      if (!Functions.has(t)) throw Errors.badQuery(`The emulator does not support the function '${t}' in $filter.`);
      next();
      const args: Node[] = [parseOr()];
      while (peek() === ",") { next(); args.push(parseOr()); }
      expect(")");
      return { kind: "fn", name: t, args };
    }
    return { kind: "prop", column: resolveProperty(def, t) };
  };

  const ast = parseOr();
  if (pos !== tokens.length) throw Errors.badQuery(`Syntax error at position ${pos} in '${text}'.`);
  return (row) => truthy(evaluate(ast, row));
}

/** `$filter`/`$orderby`/`$select` name -> column: lookups only through `_x_value`. */
export function resolveProperty(def: TableDef, name: string): ColumnDef {
  const m = /^_(.+)_value$/.exec(name);
  const column = def.columnMap.get(m ? m[1] : name);
  if (!column || (m ? !isLookupType(column.type) : isLookupType(column.type))) throw Errors.queryProperty(def.logicalName, name);
  return column;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) { i++; continue; }
    if (ch === "(" || ch === ")" || ch === ",") { tokens.push(ch); i++; continue; }
    if (ch === "'") {
      let j = i + 1;
      while (j < text.length) {
        if (text[j] === "'" && text[j + 1] === "'") j += 2;
        else if (text[j] === "'") break;
        else j++;
      }
      if (j >= text.length) throw Errors.badQuery(`Unterminated string literal in '${text}'.`);
      tokens.push(text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z0-9_.:+\-]+/.exec(text.slice(i));
    if (!m) throw Errors.badQuery(`Syntax error at position ${i} in '${text}'.`);
    tokens.push(m[0]);
    i += m[0].length;
  }
  return tokens;
}

type Value = { value: unknown; column?: ColumnDef };

function evaluate(node: Node, row: Row): Value {
  switch (node.kind) {
    case "and": return { value: truthy(evaluate(node.left, row)) && truthy(evaluate(node.right, row)) };
    case "or": return { value: truthy(evaluate(node.left, row)) || truthy(evaluate(node.right, row)) };
    case "not": return { value: !truthy(evaluate(node.expr, row)) };
    case "prop": {
      const v = row[node.column.name];
      return { value: isLookupValue(v) ? v.id : v, column: node.column };
    }
    case "lit": return { value: node.value };
    case "fn": {
      const [a, b] = node.args.map((n) => evaluate(n, row).value);
      if (typeof a !== "string" || typeof b !== "string") return { value: false };
      const [x, y] = [a.toLowerCase(), b.toLowerCase()];
      return { value: node.name === "contains" ? x.includes(y) : node.name === "startswith" ? x.startsWith(y) : x.endsWith(y) };
    }
    case "cmp": {
      const l = evaluate(node.left, row);
      const r = evaluate(node.right, row);
      const column = l.column ?? r.column;
      const a = comparable(l.value, column);
      const b = comparable(r.value, column);
      if (a === null || b === null) {
        if (node.op === "eq") return { value: a === b };
        if (node.op === "ne") return { value: a !== b };
        return { value: false };
      }
      const c = a < b ? -1 : a > b ? 1 : 0;
      const results: Record<string, boolean> = { eq: c === 0, ne: c !== 0, gt: c > 0, ge: c >= 0, lt: c < 0, le: c <= 0 };
      return { value: results[node.op] };
    }
  }
}

function truthy(v: Value): boolean {
  return v.value === true;
}

/** Normalises a value for comparison under the column's type (SQL collation is case-insensitive). */
export function comparable(value: unknown, column: ColumnDef | undefined): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (isLookupValue(value)) return value.id.toLowerCase();
  if (column?.type === "datetime" && typeof value === "string") return Date.parse(value);
  if (typeof value === "string") return value.toLowerCase();
  return value as number | boolean;
}
