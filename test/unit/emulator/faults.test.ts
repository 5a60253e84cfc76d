import { describe, expect, it } from "vitest";
import { FaultScript, faultRuleResponse } from "../../emulators/dataverse/faults.js";

describe("FaultScript", () => {
  it("returns a matching rule once by default and then lets requests through", () => {
    // Prepare
    const faults = new FaultScript();
    faults.add({ method: "patch", path: "contacts(", status: 503 });
    // Act
    const first = faults.take("PATCH", "contacts(hlf_mentorid='m-1')");
    const second = faults.take("PATCH", "contacts(hlf_mentorid='m-1')");
    // Assess
    expect(first?.status).toBe(503);
    expect(second).toBeUndefined();
  });

  it("does not match another method or a path that lacks the substring", () => {
    const faults = new FaultScript();
    faults.add({ method: "POST", path: "contacts", status: 500 });
    expect(faults.take("GET", "contacts")).toBeUndefined();
    expect(faults.take("POST", "hlf_mentorgroups")).toBeUndefined();
    expect(faults.take("POST", "contacts/Microsoft.Dynamics.CRM.UpsertMultiple")?.status).toBe(500);
  });

  it("matches a RegExp against path and query, and keeps an Infinity rule until cleared", () => {
    const faults = new FaultScript();
    faults.add({ path: /\$deltatoken=/g, status: 400, code: "0x80044352", count: Infinity });
    for (let i = 0; i < 5; i++) expect(faults.take("GET", "contacts?$deltatoken=1%212")?.code).toBe("0x80044352");
    faults.clear();
    expect(faults.take("GET", "contacts?$deltatoken=1%212")).toBeUndefined();
  });

  it("decrements the count and takes rules in the order they were added", () => {
    const faults = new FaultScript();
    faults.add({ status: 429, count: 2, retryAfterSeconds: 3 });
    faults.add({ status: 500 });
    const statuses = [1, 2, 3, 4].map(() => faults.take("GET", "contacts")?.status);
    expect(statuses).toEqual([429, 429, 500, undefined]);
  });

  it("removes one rule by the id add returned", () => {
    const faults = new FaultScript();
    const id = faults.add({ status: 500 });
    faults.add({ status: 502 });
    expect(faults.remove(id)).toBe(true);
    expect(faults.take("GET", "x")?.status).toBe(502);
  });

  it("rejects a rule whose count is not positive", () => {
    expect(() => new FaultScript().add({ count: 0 })).toThrow(RangeError);
  });
});

describe("faultRuleResponse", () => {
  it("answers in the Dataverse error shape with Retry-After and extra headers", () => {
    const response = faultRuleResponse({ status: 429, code: "0x80072322", message: "slow down", retryAfterSeconds: 7, headers: { "X-Extra": "1" } });
    expect(response.status).toBe(429);
    expect(response.headers["retry-after"]).toBe("7");
    expect(response.headers["x-extra"]).toBe("1");
    expect(JSON.parse(response.body!)).toEqual({ error: { code: "0x80072322", message: "slow down" } });
  });
});
