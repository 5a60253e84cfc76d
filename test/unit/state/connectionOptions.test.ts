import { describe, expect, it } from "vitest";
import { createTableStateStore } from "../../../shared/state/tableStateStore.js";
import { createStorageQueue } from "../../../shared/state/storageQueue.js";

describe("storage connection options", () => {
  it("accepts the development-storage shorthand for tables and queues", async () => {
    const store = await createTableStateStore({ connectionString: "UseDevelopmentStorage=true" });
    const queue = await createStorageQueue({ connectionString: "UseDevelopmentStorage=true", name: "dataverse-writes" });

    expect(typeof store.ensureTables).toBe("function");
    expect(queue.poison().name).toBe("dataverse-writes-poison");
  });

  it("refuses a store with neither a connection string nor a URL and credential", async () => {
    await expect(createTableStateStore({ accountUrl: "https://acct.table.core.windows.net" }))
      .rejects.toMatchObject({ kind: "validation", code: "INVALID_SETTING" });
    await expect(createStorageQueue({ name: "sync-runs" })).rejects.toMatchObject({ kind: "validation", code: "INVALID_SETTING" });
  });

  it("reports a malformed connection string without echoing it", async () => {
    const secret = "AccountName=acct;AccountKey=c2VjcmV0LWtleQ==";

    const error = await createTableStateStore({ connectionString: secret }).catch((e: Error) => e);

    expect(error).toMatchObject({ kind: "validation", code: "INVALID_SETTING" });
    expect((error as Error).message).not.toContain("c2VjcmV0LWtleQ");
  });

  it("refuses a table prefix that would make an invalid table name", async () => {
    await expect(createTableStateStore({ connectionString: "UseDevelopmentStorage=true", tablePrefix: "1-bad" }))
      .rejects.toMatchObject({ code: "INVALID_CONFIG", message: expect.stringContaining("1-bad") });
  });
});
