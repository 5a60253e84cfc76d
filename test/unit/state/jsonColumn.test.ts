import { describe, expect, it } from "vitest";
import { CHUNK_CHARS, readChunked, readJson, writeChunked, writeJson } from "../../../shared/state/jsonColumn.js";

describe("chunked columns", () => {
  it("stores short text in one property", () => {
    expect(writeChunked("v", "short", "x")).toEqual({ v: "short" });
  });

  it("splits long text into properties that each fit the 64 KiB property limit", () => {
    const text = "a".repeat(CHUNK_CHARS * 2 + 5);
    const props = writeChunked("v", text, "x");

    expect(props.v__parts).toBe(3);
    expect(Object.values(props).every((p) => typeof p === "number" || p.length <= 32_768)).toBe(true);
    expect(readChunked(props, "v")).toBe(text);
  });

  it("never cuts a surrogate pair in half at a chunk boundary", () => {
    const text = "a".repeat(CHUNK_CHARS - 1) + "😀" + "b";
    const props = writeChunked("v", text, "x");

    expect(String(props.v).endsWith("\ud83d")).toBe(false);
    expect(readChunked(props, "v")).toBe(text);
  });

  it("round-trips JSON and refuses JSON beyond the cap, naming what it was", () => {
    expect(readJson(writeJson("d", { a: [1, "two"] }, "x"), "d")).toEqual({ a: [1, "two"] });
    expect(() => writeJson("d", "x".repeat(500_000), "the base of link m-1"))
      .toThrow(expect.objectContaining({ code: "PAYLOAD_TOO_LARGE", message: expect.stringContaining("the base of link m-1") }));
  });

  it("reads a missing column as undefined", () => {
    expect(readJson({}, "d")).toBeUndefined();
  });
});
