import { describe, expect, it } from "vitest";
import { idFromEntityUrl, idPath, keyPath } from "../../../shared/dataverse/odataUrl.js";

describe("keyPath", () => {
  it("quotes string keys and leaves numbers bare", () => {
    expect(keyPath("contacts", { hlf_mentorid: "m-0001" })).toBe("contacts(hlf_mentorid='m-0001')");
    expect(keyPath("things", { a: "x", b: 2 })).toBe("things(a='x',b=2)");
  });

  it("doubles single quotes and percent-encodes characters that would change the URL", () => {
    expect(keyPath("contacts", { hlf_mentorid: "O'Brien/1&x=#?%" })).toBe("contacts(hlf_mentorid='O''Brien%2F1%26x%3D%23%3F%25')");
  });

  it("rejects column names that are not identifiers", () => {
    expect(() => keyPath("contacts", { "a)b": "x" })).toThrow(/Invalid Dataverse key column/);
    expect(() => keyPath("contacts", {})).toThrow(/Empty alternate key/);
  });
});

describe("idPath and idFromEntityUrl", () => {
  it("normalizes braces and case of GUIDs", () => {
    expect(idPath("contacts", "{6D81597F-0F9F-E711-8122-000D3AA2331C}")).toBe("contacts(6d81597f-0f9f-e711-8122-000d3aa2331c)");
  });

  it("rejects an id that is not a GUID", () => {
    expect(() => idPath("contacts", "1 or 1=1")).toThrow(/GUID/);
  });

  it("reads the id from OData-EntityId and ignores key URLs", () => {
    expect(idFromEntityUrl("https://o/api/data/v9.2/contacts(6d81597f-0f9f-e711-8122-000d3aa2331c)")).toBe("6d81597f-0f9f-e711-8122-000d3aa2331c");
    expect(idFromEntityUrl("https://o/api/data/v9.2/contacts(hlf_mentorid='m-1')")).toBeUndefined();
  });
});
