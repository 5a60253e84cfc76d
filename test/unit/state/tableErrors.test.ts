import { describe, expect, it } from "vitest";
import { SyncError } from "../../../shared/errors.js";
import { translateStorageError } from "../../../shared/state/tableErrors.js";

const sdkError = (statusCode: number | undefined, code?: string) =>
  Object.assign(new Error(`boom https://acct.table.core.windows.net/T?sig=SECRET`), { statusCode, details: { odataError: { code } } });

describe("translateStorageError", () => {
  it.each([
    [412, "UpdateConditionNotSatisfied", "conflict", "CONCURRENCY"],
    [409, "EntityAlreadyExists", "conflict", "DUPLICATE_KEY"],
    [404, "ResourceNotFound", "permanent", "NOT_FOUND"],
    [503, "ServerBusy", "throttled", "THROTTLED"],
    [429, undefined, "throttled", "THROTTLED"],
    [500, "InternalError", "transient", "SERVER_BUSY"],
    [504, undefined, "transient", "TIMEOUT"],
    [403, "AuthorizationFailure", "auth", "AUTH"],
    [400, "PropertyValueTooLarge", "permanent", "BAD_REQUEST"],
    [undefined, undefined, "transient", "NETWORK"],
  ])("maps status %s (%s) to %s %s", (status, code, kind, syncCode) => {
    const error = translateStorageError(sdkError(status, code), "write link");

    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ kind, code: syncCode, status });
  });

  it("keeps the service code but never the SDK message, which may carry a signed URL", () => {
    const error = translateStorageError(sdkError(500, "InternalError"), "write link");

    expect(error.remoteCode).toBe("InternalError");
    expect(error.message).toContain("write link");
    expect(error.message).not.toContain("SECRET");
  });

  it("passes a SyncError through untouched", () => {
    const original = new SyncError("validation", "PAYLOAD_TOO_LARGE", "too big");
    expect(translateStorageError(original, "x")).toBe(original);
  });
});
