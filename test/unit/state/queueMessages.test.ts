import { describe, expect, it } from "vitest";
import { decodeQueueMessage, delaySeconds, encodeQueueMessage, MAX_QUEUE_MESSAGE_CHARS } from "../../../shared/state/queueMessages.js";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

describe("decodeQueueMessage", () => {
  it("returns an object the host already parsed unchanged", () => {
    const body = { mapping: "mentors", ids: ["m-1"] };
    expect(decodeQueueMessage(body)).toBe(body);
  });

  it("parses a JSON string", () => {
    expect(decodeQueueMessage('{"mapping":"mentors"}')).toEqual({ mapping: "mentors" });
  });

  it("decodes base64 JSON text", () => {
    expect(decodeQueueMessage(b64({ mapping: "groups", ids: ["g-north"] }))).toEqual({ mapping: "groups", ids: ["g-north"] });
  });

  it("decodes base64 JSON handed over as bytes", () => {
    expect(decodeQueueMessage(Buffer.from(b64({ a: 1 })))).toEqual({ a: 1 });
  });

  it("rejects text that is neither JSON nor base64 JSON with a validation error", () => {
    expect(() => decodeQueueMessage("not json at all")).toThrow(expect.objectContaining({ kind: "validation", code: "BAD_REQUEST" }));
  });
});

describe("encodeQueueMessage", () => {
  it("base64-encodes the JSON text", () => {
    expect(Buffer.from(encodeQueueMessage({ a: "ü" }, "q"), "base64").toString("utf8")).toBe('{"a":"ü"}');
  });

  it("accepts a message exactly at the limit and refuses one byte more", () => {
    // 3 JSON bytes become 4 base64 characters; a string of n chars is n + 2 bytes of JSON.
    const fits = "x".repeat((MAX_QUEUE_MESSAGE_CHARS / 4) * 3 - 2);
    expect(encodeQueueMessage(fits, "q")).toHaveLength(MAX_QUEUE_MESSAGE_CHARS);
    expect(() => encodeQueueMessage(fits + "x", "q")).toThrow(expect.objectContaining({ code: "PAYLOAD_TOO_LARGE", message: expect.stringContaining("queue q") }));
  });

  it("refuses undefined, which has no JSON form", () => {
    expect(() => encodeQueueMessage(undefined, "q")).toThrow(expect.objectContaining({ kind: "validation" }));
  });
});

describe("delaySeconds", () => {
  it("rounds up so a message is never visible early and caps at 7 days", () => {
    expect(delaySeconds(undefined)).toBe(0);
    expect(delaySeconds(-5)).toBe(0);
    expect(delaySeconds(1)).toBe(1);
    expect(delaySeconds(2_000)).toBe(2);
    expect(delaySeconds(99 * 86_400_000)).toBe(604_800);
  });
});
