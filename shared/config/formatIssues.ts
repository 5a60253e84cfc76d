import type { z } from "zod";

type Path = readonly PropertyKey[];

/** `mappings[0].fields[3].type` — the notation users see in their editor's JSON path. */
export function formatPath(path: Path): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (typeof part === "string" && /^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || "(root)";
}

/** A short rendering of a found value for "got ..." (the mapping file holds no secrets). */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length ? `an array of ${value.length}` : "an empty array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

interface SchemaNode {
  _zod: { def: { type: string; shape?: Record<string, SchemaNode>; element?: SchemaNode; innerType?: SchemaNode; valueType?: SchemaNode } };
}

/** The object schema at a data path, to list the keys an object accepts; undefined when unknown. */
function keysAt(root: SchemaNode, path: Path): string[] | undefined {
  let node: SchemaNode | undefined = root;
  const unwrap = (n: SchemaNode | undefined): SchemaNode | undefined => {
    let cur = n;
    while (cur && (cur._zod.def.type === "optional" || cur._zod.def.type === "default" || cur._zod.def.type === "nullable")) {
      cur = cur._zod.def.innerType;
    }
    return cur;
  };
  for (const part of path) {
    node = unwrap(node);
    if (!node) return undefined;
    const def = node._zod.def;
    if (def.type === "object" && typeof part === "string") node = def.shape?.[part];
    else if (def.type === "array" && typeof part === "number") node = def.element;
    else if (def.type === "record") node = def.valueType;
    else return undefined;
  }
  node = unwrap(node);
  return node?._zod.def.type === "object" ? Object.keys(node._zod.def.shape ?? {}) : undefined;
}

function sizeWords(issue: { origin?: string; minimum?: unknown; maximum?: unknown }, bound: "min" | "max"): string {
  const n = bound === "min" ? issue.minimum : issue.maximum;
  const cmp = bound === "min" ? "at least" : "at most";
  switch (issue.origin) {
    case "string": return bound === "min" && n === 1 ? "a non-empty string" : `a string of ${cmp} ${String(n)} characters`;
    case "array": return `${cmp} ${String(n)} item${n === 1 ? "" : "s"}`;
    default: return `a number ${bound === "min" ? ">=" : "<="} ${String(n)}`;
  }
}

/** One line per problem, `path: expected ...; got ...`. Unknown keys get a line each. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], schema: unknown): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const at = formatPath(issue.path);
    const input = (issue as { input?: unknown }).input;
    const got = `got ${describeValue(input)}`;
    switch (issue.code) {
      case "unrecognized_keys": {
        const allowed = keysAt(schema as SchemaNode, issue.path);
        for (const key of issue.keys) {
          const hint = allowed ? `; expected one of ${allowed.join(", ")}` : "";
          lines.push(`${formatPath([...issue.path, key])}: unknown key${hint}`);
        }
        break;
      }
      case "invalid_type":
        lines.push(input === undefined ? `${at}: required (${issue.expected})` : `${at}: expected ${issue.expected}; ${got}`);
        break;
      case "invalid_value":
        lines.push(`${at}: expected one of ${issue.values.map((v) => String(v)).join(", ")}; ${got}`);
        break;
      case "too_small":
        lines.push(`${at}: expected ${sizeWords(issue, "min")}; ${got}`);
        break;
      case "too_big":
        lines.push(`${at}: expected ${sizeWords(issue, "max")}; ${got}`);
        break;
      case "invalid_format":
      case "custom":
        lines.push(`${at}: expected ${issue.message}; ${got}`);
        break;
      default:
        lines.push(`${at}: ${issue.message}`);
    }
  }
  return lines;
}
