import { describe, expect, it } from "vitest";
import { ExactNumber, fitsDouble, hasRawJson, hasSourceTextAccess, jsonNumber, parseJson } from "../../../shared/http/exactJson.js";

describe("exact JSON numbers", () => {
  it("runs on a Node with JSON.rawJSON and JSON.parse source text access (Node 22)", () => {
    expect(hasRawJson).toBe(true);
    expect(hasSourceTextAccess).toBe(true);
  });

  it("tells decimals a double holds from those it rounds", () => {
    expect(fitsDouble("12.50")).toBe(true);
    expect(fitsDouble("-0.00")).toBe(true);
    expect(fitsDouble("450.5")).toBe(true);
    expect(fitsDouble("123456789012345")).toBe(true);
    expect(fitsDouble("1.5e-7")).toBe(true);
    expect(fitsDouble("1234567.1234567891")).toBe(false);
    expect(fitsDouble("98765432109.8765432109")).toBe(false);
    expect(fitsDouble("9007199254740993")).toBe(false);
    expect(fitsDouble("1e400")).toBe(false);
  });

  it("writes the exact digits of a decimal a double cannot hold", () => {
    const body = { ratio: jsonNumber("1234567.1234567891"), big: jsonNumber("-98765432109.8765432109"), rate: jsonNumber("12.50") };
    expect(JSON.stringify(body)).toBe('{"ratio":1234567.1234567891,"big":-98765432109.8765432109,"rate":12.5}');
    // Without it the same value goes out rounded: this is the bug the helper fixes.
    expect(JSON.stringify({ ratio: Number("1234567.1234567891") })).toBe('{"ratio":1234567.1234567892}');
  });

  it("keeps ordinary values plain numbers and behaves as a number otherwise", () => {
    expect(jsonNumber("12.50")).toBe(12.5);
    const exact = jsonNumber("1234567.1234567891");
    expect(exact).toBeInstanceOf(ExactNumber);
    expect(exact).toBeInstanceOf(Number);
    expect(String(exact)).toBe("1234567.1234567891");
    expect(Number(exact)).toBe(1234567.1234567892);
    expect((exact as unknown as number) > 1234567).toBe(true); // compares through valueOf
    expect(() => new ExactNumber("12,5")).toThrow(/Not a JSON number: "12,5"/);
  });

  it("reads number tokens a double cannot hold as their source digits, and leaves the rest alone", () => {
    const text = '{"value":[{"hlf_ratio":1234567.1234567891,"hlf_score":42,"rate":12.50,"id":"12345678901234567890","big":98765432109.8765432109,"tiny":1e-400}]}';
    const parsed = parseJson<{ value: Record<string, unknown>[] }>(text);
    const row = parsed.value[0];
    expect(row.hlf_ratio).toBeInstanceOf(ExactNumber);
    expect(String(row.hlf_ratio)).toBe("1234567.1234567891");
    expect(String(row.big)).toBe("98765432109.8765432109");
    expect(String(row.tiny)).toBe("1e-400");
    expect(row.hlf_score).toBe(42);
    expect(row.rate).toBe(12.5);
    expect(row.id).toBe("12345678901234567890");
    // What JSON.parse alone makes of it.
    expect((JSON.parse(text) as { value: Record<string, unknown>[] }).value[0].hlf_ratio).toBe(1234567.1234567892);
  });

  it("round-trips exact numbers through parse and stringify unchanged", () => {
    const text = '{"a":[1234567.1234567891,-0.1000000000000000055511151231257827],"b":{"c":123456789012345678901}}';
    expect(JSON.stringify(parseJson(text))).toBe(text);
  });

  it("takes the plain path for text without long numbers", () => {
    expect(parseJson('{"a":1.5,"b":"x","c":[true,null]}')).toEqual({ a: 1.5, b: "x", c: [true, null] });
    expect(() => parseJson("{bad")).toThrow(SyntaxError);
    expect(() => parseJson('{"a":12345678901234567890,')).toThrow(SyntaxError);
  });
});
