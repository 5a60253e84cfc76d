import { describe, expect, it } from "vitest";
import { RequestLog, type LoggedRequest } from "../../emulators/dataverse/requestLog.js";

function entry(n: number, body = ""): LoggedRequest {
  return { at: n, method: "GET", path: `/api/data/v9.2/contacts?n=${n}`, headers: {}, body, status: 200, inBatch: false, durationMs: 1 };
}

describe("RequestLog", () => {
  it("keeps entries oldest first", () => {
    const log = new RequestLog();
    log.record(entry(1));
    log.record(entry(2));
    expect(log.entries().map((e) => e.at)).toEqual([1, 2]);
  });

  it("drops the oldest entries beyond maxEntries", () => {
    // Prepare
    const log = new RequestLog({ maxEntries: 3 });
    // Act
    for (let i = 1; i <= 5000; i++) log.record(entry(i));
    // Assess
    expect(log.entries().map((e) => e.at)).toEqual([4998, 4999, 5000]);
    expect(log.droppedCount).toBe(4997);
  });

  it("drops the oldest entries when bodies exceed the character budget", () => {
    const log = new RequestLog({ maxBodyChars: 10 });
    log.record(entry(1, "aaaaaa"));
    log.record(entry(2, "bbbbbb"));
    expect(log.entries().map((e) => e.at)).toEqual([2]);
  });

  it("without bodies keeps every entry's timing however large the bodies", () => {
    const log = new RequestLog({ maxBodyChars: 10, bodies: false });
    log.record(entry(1, "aaaaaa"));
    log.record(entry(2, "bbbbbb"));
    expect(log.entries().map((e) => [e.at, e.body])).toEqual([[1, ""], [2, ""]]);
  });

  it("never stores credentials from request headers", () => {
    const log = new RequestLog();
    log.record({ ...entry(1), headers: { Authorization: "Bearer secret-token", "x-functions-key": "k3y", accept: "application/json" } });
    const [stored] = log.entries();
    expect(JSON.stringify(stored)).not.toContain("secret-token");
    expect(JSON.stringify(stored)).not.toContain("k3y");
    expect(stored.headers.authorization).toBe("Bearer <redacted>");
    expect(stored.headers.accept).toBe("application/json");
  });

  it("is empty after clear", () => {
    const log = new RequestLog();
    log.record(entry(1));
    log.clear();
    expect(log.entries()).toEqual([]);
  });
});
