import type { RecordEventMessage } from "../sync/writeOps.js";

/**
 * Change notices that share one record-events queue message: those that arrived together
 * (groupCommitQueue.ts), or those of a message that failed while the rest of it was written
 * (re-enqueued with the deliveries they have had, so a notice that keeps failing still reaches the
 * poison queue after the host's maxDequeueCount deliveries in all).
 */
export interface NoticeGroup {
  notices: RecordEventMessage[];
  /** Deliveries of these notices before this message (absent: none). */
  deliveries?: number;
  /** The notices' tenant (shared/tenants), so the message routes as each of them would. */
  tenant?: string;
}

/** A record-events queue message: one notice as it always was, or a group. */
export type RecordEventBody = RecordEventMessage | NoticeGroup;

export function isNoticeGroup(body: unknown): body is NoticeGroup {
  return typeof body === "object" && body !== null && Array.isArray((body as NoticeGroup).notices);
}

/** The notices a message holds (the very objects of the body, so they can be told apart by identity). */
export function noticesOf(body: unknown): RecordEventMessage[] {
  return isNoticeGroup(body) ? body.notices : [body as RecordEventMessage];
}

/** Deliveries of a message's notices before it was sent. */
export function priorDeliveries(body: unknown): number {
  const n = isNoticeGroup(body) ? Number(body.deliveries ?? 0) : 0;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

/** The body for `notices`: a single notice with no deliveries behind it goes as it always did. */
export function noticeBody(notices: readonly RecordEventMessage[], deliveries = 0): RecordEventBody {
  if (notices.length === 1 && deliveries <= 0) return notices[0];
  const tenants = new Set(notices.map((n) => (n as { tenant?: string }).tenant));
  const [tenant] = tenants;
  return { notices: [...notices], ...(deliveries > 0 ? { deliveries } : {}), ...(tenants.size === 1 && tenant ? { tenant } : {}) };
}
