import { describe, expect, it } from "vitest";
import { classifyDataverseError } from "../../../shared/dataverse/classifyDataverseError.js";

const res = (status: number, code: string, message = "m", headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
  text: JSON.stringify({ error: { code, message } }),
});

describe("classifyDataverseError", () => {
  it.each([
    [404, "0x80040217", "permanent", "NOT_FOUND"],
    [400, "0x80040217", "permanent", "NOT_FOUND"],
    [412, "0x80040237", "permanent", "DUPLICATE_KEY"],
    [412, "0x80060892", "permanent", "DUPLICATE_KEY"],
    [412, "0x80060882", "conflict", "CONCURRENCY"],
    [403, "0x80040220", "permanent", "PRIVILEGE"],
    [403, "0x80072560", "auth", "APPLICATION_USER_MISSING"],
    [401, "0x80072560", "auth", "APPLICATION_USER_MISSING"],
    [400, "0x80040265", "permanent", "REJECTED"],
    [400, "0x80044352", "permanent", "EXPIRED_DELTA_TOKEN"],
    [401, "0x80041d52", "auth", "AUTH"],
    [503, "", "transient", "SERVER_BUSY"],
    [502, "", "transient", "SERVER_BUSY"],
    [504, "", "transient", "SERVER_BUSY"],
    [500, "0x80044151", "transient", "TIMEOUT"],
    [500, "0x8004A001", "transient", "SERVER_BUSY"],
  ])("maps HTTP %i with code %s to %s %s", (status, code, kind, syncCode) => {
    const error = classifyDataverseError(res(status, code));

    expect(error).toMatchObject({ kind, code: syncCode, status });
    expect(error.remoteCode).toBe(code || undefined);
  });

  it("treats an upsert-create-only 412 with an empty code as a duplicate key", () => {
    expect(classifyDataverseError(res(412, "", "A record with matching key values already exists.")).code).toBe("DUPLICATE_KEY");
  });

  it("treats a stale row version as CONCURRENCY by its code, or a 412 with the documented empty code", () => {
    const message = "The version of the existing record doesn't match the RowVersion property provided.";

    expect(classifyDataverseError(res(412, "", message))).toMatchObject({ kind: "conflict", code: "CONCURRENCY" });
    expect(classifyDataverseError(res(400, "0x80060882", message))).toMatchObject({ kind: "conflict", code: "CONCURRENCY" });
  });

  it("does not take another coded 412 (duplicate detection) for a stale version", () => {
    const error = classifyDataverseError(res(412, "0x80040333", "A record was not created or updated because a duplicate of the current record already exists."));

    expect(error).toMatchObject({ kind: "permanent", code: "REJECTED", status: 412 });
  });

  it("keeps the plug-in's message for a rejected write", () => {
    const error = classifyDataverseError(res(400, "0x80040265", "Mentor score must be between 0 and 100."), { method: "PATCH", url: "https://o.crm.dynamics.com/api/data/v9.2/contacts(x)?$select=a" });

    expect(error.message).toContain("Mentor score must be between 0 and 100.");
    expect(error.message).toContain("PATCH https://o.crm.dynamics.com/api/data/v9.2/contacts(x)");
    expect(error.message).not.toContain("$select");
  });

  it("reads Retry-After seconds into retryAfterMs for a 429", () => {
    const error = classifyDataverseError(res(429, "0x80072322", "Number of requests exceeded", { "retry-after": "12" }));

    expect(error).toMatchObject({ kind: "throttled", code: "THROTTLED", retryAfterMs: 12_000, remoteCode: "0x80072322" });
  });

  it("reads only the service's Retry-After, not a header a test double might add", () => {
    const error = classifyDataverseError(res(429, "0x80072322", "x", { "retry-after": "30", "x-emulator-retry-after-ms": "150" }));

    expect(error.retryAfterMs).toBe(30_000);
  });

  it("survives a body that is not JSON", () => {
    const error = classifyDataverseError({ status: 502, headers: new Headers(), text: "<html>\n Bad gateway </html>" });

    expect(error).toMatchObject({ kind: "transient", code: "SERVER_BUSY" });
    expect(error.message).toContain("Bad gateway");
  });
});
