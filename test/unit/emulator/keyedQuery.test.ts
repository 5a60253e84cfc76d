import { describe, expect, it } from "vitest";
import { keyedIds } from "../../emulators/dataverse/collection.js";

const A = "c0a80001-0000-4000-8000-000000000001";
const B = "C0A80001-0000-4000-8000-000000000002";

describe("the emulator finds rows named by primary key without scanning the table", () => {
  it("reads the ids of a filter that is only `<primary key> eq <guid>` joined by or (how rows are re-read by id)", () => {
    expect(keyedIds(`contactid eq ${A}`, "contactid")).toEqual([A]);
    expect(keyedIds(`contactid eq ${A} or contactid eq ${B} or (contactid eq ${A})`, "contactid")).toEqual([A, B.toLowerCase()]);
  });

  it("leaves every other filter to the scan", () => {
    expect(keyedIds(`_hlf_groupid_value eq ${A}`, "contactid")).toBeUndefined();
    expect(keyedIds(`contactid eq ${A} and hlf_score gt 1`, "contactid")).toBeUndefined();
    expect(keyedIds(`contactid eq ${A} or hlf_mentorid eq 'm-1'`, "contactid")).toBeUndefined();
    expect(keyedIds(`contactid ne ${A}`, "contactid")).toBeUndefined();
  });
});
