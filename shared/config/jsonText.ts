import type { Checked } from "./settingRules.js";

/**
 * Offset of the first syntax error in JSON text. V8 reports a position for most errors but not
 * for "Unexpected token" ones, and a line and column is what an editor user needs.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => { while (i < text.length && " \t\n\r".includes(text[i]!)) i += 1; };
  const fail = (): never => { throw i; };
  const string = (): void => {
    if (text[i] !== '"') fail();
    i += 1;
    while (i < text.length && text[i] !== '"') {
      if (text[i]! < " ") fail();
      if (text[i] === "\\") {
        i += 1;
        if (text[i] === "u") { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail(); i += 4; }
        else if (!'"\\/bfnrt'.includes(text[i] ?? "x")) fail();
      }
      i += 1;
    }
    if (i >= text.length) fail();
    i += 1;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      i += 1; ws();
      if (text[i] === close) { i += 1; return; }
      for (;;) {
        if (c === "{") { ws(); string(); ws(); if (text[i] !== ":") fail(); i += 1; }
        value(); ws();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === close) { i += 1; return; }
        fail();
      }
    }
    if (c === '"') return string();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value(); ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return typeof at === "number" ? at : 0;
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** Parses JSON text; a syntax error becomes `line L column C: <reason>`. */
export function parseJsonText(text: string): Checked<unknown> {
  const body = text.replace(/^\uFEFF/, "");
  try {
    return { value: JSON.parse(body) as unknown };
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/\s*in JSON at position \d+.*$/, "").replace(/, ".*" is not valid JSON$/s, "");
    const offset = jsonErrorOffset(body);
    const { line, column } = lineColumn(body, offset < 0 ? body.length : offset);
    return { problem: `invalid JSON at line ${line} column ${column}: ${reason}` };
  }
}
