import { describe, expect, it } from "vitest";
import { isNoticeGroup, noticeBody, noticesOf, priorDeliveries } from "../../../shared/state/noticeGroups.js";
import type { RecordEventMessage } from "../../../shared/sync/writeOps.js";

const notice = (id: string, tenant?: string): RecordEventMessage =>
  ({ mapping: "mentors", side: "dataverse", id, receivedAt: "2026-01-01T00:00:00.000Z", ...(tenant ? { tenant } : {}) }) as RecordEventMessage;

describe("record-event message bodies", () => {
  it("sends a lone notice with no deliveries behind it as the notice itself, as before groups existed", () => {
    const body = noticeBody([notice("a")]);

    expect(body).toEqual(notice("a"));
    expect(isNoticeGroup(body)).toBe(false);
    expect(noticesOf(body)).toEqual([notice("a")]);
    expect(priorDeliveries(body)).toBe(0);
  });

  it("groups several notices, or one with deliveries behind it, and keeps the count", () => {
    expect(noticeBody([notice("a"), notice("b")])).toEqual({ notices: [notice("a"), notice("b")] });
    expect(noticeBody([notice("a")], 3)).toEqual({ notices: [notice("a")], deliveries: 3 });
    expect(priorDeliveries(noticeBody([notice("a")], 3))).toBe(3);
  });

  it("tags a group of one tenant's notices with that tenant, so it routes as its notices do", () => {
    expect(noticeBody([notice("a", "contoso"), notice("b", "contoso")])).toMatchObject({ tenant: "contoso" });
    expect(noticeBody([notice("a", "contoso"), notice("b")])).not.toHaveProperty("tenant");
  });

  it("reads no deliveries from a count that is not a positive number", () => {
    expect(priorDeliveries({ notices: [], deliveries: "x" })).toBe(0);
    expect(priorDeliveries({ notices: [], deliveries: -2 })).toBe(0);
    expect(priorDeliveries(notice("a"))).toBe(0);
  });
});
