import { describe, expect, it } from "vitest";
import {
  appToCanonical, bindUrl, canonicalToApp, canonicalToDataverse, dataverseToCanonical,
  lookupBindProperty, lookupReadProperty, ownerBindUrl,
} from "../../../shared/sync/values.js";
import { field, thrown } from "./valuesFactories.js";

const GUID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const group = field({
  app: "groupId", dataverse: "hlf_groupid", type: "lookup",
  lookup: { mapping: "groups", navigationProperty: "hlf_GroupId" },
});
const owner = field({ app: "ownerId", dataverse: "ownerid", type: "owner", ownerType: "team" });

describe("lookup and owner values", () => {
  it("keeps the app reference as the canonical value", () => {
    expect(appToCanonical(group, "g-north")).toBe("g-north");
    expect(canonicalToApp(group, "g-north")).toBe("g-north");
    expect(appToCanonical(group, null)).toBeNull();
  });

  it("rejects a reference that is not a non-empty string", () => {
    expect(thrown(() => appToCanonical(group, 17)).code).toBe("UNMAPPABLE_VALUE");
    expect(thrown(() => appToCanonical(owner, "")).code).toBe("UNMAPPABLE_VALUE");
  });

  it("refuses to convert a Dataverse lookup value, which needs the link map", () => {
    const error = thrown(() => dataverseToCanonical(group, GUID));
    expect(error.code).toBe("INVALID_CONFIG");
    expect(thrown(() => canonicalToDataverse(owner, GUID)).code).toBe("INVALID_CONFIG");
  });

  it("reads a cleared Dataverse lookup as null", () => {
    expect(dataverseToCanonical(group, null)).toBeNull();
  });
});

describe("lookup property names", () => {
  it("binds through the navigation property when one is configured", () => {
    expect(lookupBindProperty(group)).toBe("hlf_GroupId@odata.bind");
  });

  it("binds through the column name otherwise", () => {
    expect(lookupBindProperty(owner)).toBe("ownerid@odata.bind");
  });

  it("reads a lookup from its _<column>_value property", () => {
    expect(lookupReadProperty(group)).toBe("_hlf_groupid_value");
  });
});

describe("bind URLs", () => {
  it("binds a GUID as /set(<guid>)", () => {
    expect(bindUrl("hlf_mentorgroups", GUID)).toBe(`/hlf_mentorgroups(${GUID})`);
  });

  it("binds an alternate key with a quoted value", () => {
    expect(bindUrl("hlf_mentorgroups", { hlf_groupcode: "g-north" })).toBe("/hlf_mentorgroups(hlf_groupcode='g-north')");
  });

  it("doubles single quotes inside a key value", () => {
    expect(bindUrl("contacts", { hlf_mentorid: "o'brien" })).toBe("/contacts(hlf_mentorid='o''brien')");
  });

  it("writes numeric keys unquoted and joins several keys with commas", () => {
    expect(bindUrl("accounts", { region: "n", number: 7 })).toBe("/accounts(region='n',number=7)");
  });

  it("rejects a string that is not a GUID", () => {
    expect(thrown(() => bindUrl("contacts", "m-0001")).kind).toBe("validation");
  });

  it("binds owners to systemusers or teams", () => {
    expect(ownerBindUrl("systemuser", GUID)).toBe(`/systemusers(${GUID})`);
    expect(ownerBindUrl("team", GUID)).toBe(`/teams(${GUID})`);
  });
});
