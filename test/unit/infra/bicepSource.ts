/**
 * Just enough Bicep reading for the infra consistency checks: comments and string literals are
 * located exactly (interpolation and multi-line strings included), top-level declarations are
 * split by bracket depth, and object keys are read from code with the strings blanked out, so a
 * URL or a KQL query inside a string never looks like a key. It is not a Bicep parser.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

export interface StringLiteral {
  /** Offset of the opening quote in the file. */
  start: number;
  /** Offset just past the closing quote. */
  end: number;
  /** The raw text between the quotes (interpolations kept as written). */
  value: string;
}

export interface Declaration {
  kind: "param" | "var" | "resource" | "module" | "output" | "other";
  name: string;
  /** Decorator lines such as `@secure()`, in order. */
  decorators: string[];
  /** For resources and modules: the quoted type or path, e.g. `Microsoft.Web/sites@2024-04-01`. */
  target?: string;
  /** The declaration text from its keyword to its end (decorators excluded), comments removed. */
  text: string;
  /** Offset of the keyword in the file. */
  start: number;
}

export interface BicepFile {
  /** Path relative to the infra directory, with forward slashes. */
  path: string;
  source: string;
  /** The source with comments removed and string contents replaced by spaces (same offsets). */
  code: string;
  /** The source with comments removed (same offsets). */
  uncommented: string;
  strings: StringLiteral[];
  declarations: Declaration[];
}

export function readBicepFiles(infraDir: string): BicepFile[] {
  const files: BicepFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".bicep")) {
        files.push(parseBicep(relative(infraDir, full).split("\\").join("/"), readFileSync(full, "utf8")));
      }
    }
  };
  walk(infraDir);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export function parseBicep(path: string, source: string): BicepFile {
  const { code, uncommented, strings } = scan(source);
  return { path, source, code, uncommented, strings, declarations: splitDeclarations(code, uncommented) };
}

function blank(chars: string[], from: number, to: number): void {
  for (let i = from; i < to; i++) if (chars[i] !== "\n") chars[i] = " ";
}

function scan(source: string): { code: string; uncommented: string; strings: StringLiteral[] } {
  const code = [...source];
  const uncommented = [...source];
  const strings: StringLiteral[] = [];
  const n = source.length;

  // Returns the index of the closing quote of a '...' string that opens at `open`.
  const endOfString = (open: number): number => {
    let j = open + 1;
    while (j < n) {
      if (source[j] === "\\") j += 2;
      else if (source[j] === "'") return j;
      else if (source.startsWith("${", j)) j = endOfInterpolation(j + 2);
      else j++;
    }
    return n - 1;
  };
  const endOfInterpolation = (from: number): number => {
    let depth = 1;
    let j = from;
    while (j < n) {
      const c = source[j];
      if (c === "'") j = endOfString(j) + 1;
      else if (c === "{") { depth++; j++; }
      else if (c === "}") { depth--; j++; if (depth === 0) return j; }
      else j++;
    }
    return n;
  };

  let i = 0;
  while (i < n) {
    if (source.startsWith("//", i)) {
      const end = source.indexOf("\n", i) === -1 ? n : source.indexOf("\n", i);
      blank(code, i, end); blank(uncommented, i, end); i = end;
    } else if (source.startsWith("/*", i)) {
      const close = source.indexOf("*/", i + 2);
      const end = close === -1 ? n : close + 2;
      blank(code, i, end); blank(uncommented, i, end); i = end;
    } else if (source.startsWith("'''", i)) {
      const close = source.indexOf("'''", i + 3);
      const end = close === -1 ? n : close + 3;
      strings.push({ start: i, end, value: source.slice(i + 3, end - 3) });
      blank(code, i + 3, end - 3); i = end;
    } else if (source[i] === "'") {
      const close = endOfString(i);
      strings.push({ start: i, end: close + 1, value: source.slice(i + 1, close) });
      blank(code, i + 1, close); i = close + 1;
    } else i++;
  }
  return { code: code.join(""), uncommented: uncommented.join(""), strings };
}

const KEYWORD = /^(param|var|resource|module|output|targetScope|metadata|type|func|import)\b/;

function splitDeclarations(code: string, uncommented: string): Declaration[] {
  const declarations: Declaration[] = [];
  let depth = 0;
  let decorators: string[] = [];
  let current: { start: number; decorators: string[] } | undefined;
  let offset = 0;
  const close = (end: number): void => {
    if (current) declarations.push(toDeclaration(uncommented.slice(current.start, end).trimEnd(), current.start, current.decorators));
    current = undefined;
  };
  for (const line of code.split("\n")) {
    if (depth === 0 && line.startsWith("@")) {
      close(offset);
      decorators.push(uncommented.slice(offset, offset + line.length).trim());
    } else if (depth === 0 && KEYWORD.test(line)) {
      close(offset);
      current = { start: offset, decorators };
      decorators = [];
    }
    for (const c of line) {
      if (c === "{" || c === "[" || c === "(") depth++;
      else if (c === "}" || c === "]" || c === ")") depth--;
    }
    offset += line.length + 1;
  }
  close(code.length);
  return declarations;
}

function toDeclaration(text: string, start: number, decorators: string[]): Declaration {
  const match = /^(\w+)\s+(\w+)(?:\s+'([^']*)')?/.exec(text);
  const keyword = match?.[1] ?? "";
  const kind = (["param", "var", "resource", "module", "output"] as const).find((k) => k === keyword) ?? "other";
  return { kind, name: match?.[2] ?? "", decorators, target: match?.[3], text, start };
}

/** Object keys (identifier or quoted) that appear inside `[from, to)` of the file. */
export function objectKeys(file: BicepFile, from = 0, to = file.code.length): string[] {
  const keys: string[] = [];
  const code = file.code.slice(from, to);
  const identifierKey = /(^|[{,\n])[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*:(?!:)/g;
  for (const m of code.matchAll(identifierKey)) keys.push(m[2]);
  for (const s of file.strings) {
    if (s.start < from || s.end > to) continue;
    const before = file.code.slice(0, s.start).replace(/[ \t]+$/, "");
    const after = file.code.slice(s.end).replace(/^[ \t]+/, "");
    if (after.startsWith(":") && /(^|[{,\n])$/.test(before)) keys.push(s.value);
  }
  return keys;
}

/** The rest of the line after an unquoted `key:` inside `[from, to)`, comments removed; undefined when absent. */
export function valueOfKey(file: BicepFile, key: string, from = 0, to = file.code.length): string | undefined {
  const pattern = new RegExp(`(^|[{,\\n])[ \\t]*${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[ \\t]*:(?!:)`, "g");
  const match = pattern.exec(file.code.slice(from, to));
  if (!match) return undefined;
  const valueStart = from + match.index + match[0].length;
  const lineEnd = file.uncommented.indexOf("\n", valueStart);
  return file.uncommented.slice(valueStart, lineEnd === -1 ? undefined : lineEnd).trim();
}

export function stringsIn(file: BicepFile, from: number, to: number): StringLiteral[] {
  return file.strings.filter((s) => s.start >= from && s.end <= to);
}
