import { ErrorCodes, SyncError } from "../errors.js";

/** Storage Queues accept at most 64 KiB of message text; after base64 that is ~48 KiB of JSON. */
export const MAX_QUEUE_MESSAGE_CHARS = 64 * 1024;
/** The service caps visibility timeouts at 7 days. */
export const MAX_QUEUE_DELAY_MS = 7 * 24 * 60 * 60 * 1000;
export const MAX_RECEIVE_BATCH = 32;

/**
 * JSON, then base64: the Functions host's queue trigger decodes base64 by default (host.json
 * `messageEncoding`), and @azure/storage-queue sends text as-is. Oversized messages fail here,
 * before the round trip, with a message that says what to do instead.
 */
export function encodeQueueMessage(message: unknown, queueName: string): string {
  const json = JSON.stringify(message);
  if (json === undefined) {
    throw new SyncError("validation", ErrorCodes.BadRequest, `a message for queue ${queueName} must be JSON-serialisable`);
  }
  const text = Buffer.from(json, "utf8").toString("base64");
  if (text.length > MAX_QUEUE_MESSAGE_CHARS) {
    throw new SyncError("validation", ErrorCodes.PayloadTooLarge,
      `a message for queue ${queueName} is ${text.length} bytes once base64-encoded; the limit is ${MAX_QUEUE_MESSAGE_CHARS}. ` +
      "Send smaller chunks, or store the payload and enqueue its key",
      { details: { queue: queueName, size: text.length, limit: MAX_QUEUE_MESSAGE_CHARS } });
  }
  return text;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * What a queue handler receives, whatever the host did with it: an object it already parsed, a
 * JSON string, or the base64 text itself (messageEncoding "none", or a message read directly).
 */
export function decodeQueueMessage(raw: unknown): unknown {
  if (raw instanceof Uint8Array) return decodeQueueMessage(Buffer.from(raw).toString("utf8"));
  if (typeof raw !== "string") return raw;
  const text = raw.trim();
  if (text.startsWith("{") || text.startsWith("[")) return parseJson(text);
  if (text.length % 4 === 0 && BASE64.test(text)) {
    const decoded = Buffer.from(text, "base64").toString("utf8");
    const parsed = tryParse(decoded);
    if (parsed.ok) return parsed.value;
  }
  return parseJson(text);
}

/** Whole seconds for the service, rounded up so a message is never visible early; capped at 7 days. */
export function delaySeconds(delayMs: number | undefined): number {
  if (!delayMs || !Number.isFinite(delayMs) || delayMs <= 0) return 0;
  return Math.ceil(Math.min(delayMs, MAX_QUEUE_DELAY_MS) / 1000);
}

function parseJson(text: string): unknown {
  const parsed = tryParse(text);
  if (parsed.ok) return parsed.value;
  throw new SyncError("validation", ErrorCodes.BadRequest, "the queue message is neither JSON nor base64-encoded JSON");
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export function leaseLostError(queue: string, id: string, cause?: unknown): SyncError {
  return new SyncError("conflict", ErrorCodes.Concurrency, `message ${id} on queue ${queue} was received again elsewhere (pop receipt no longer valid)`, { cause, status: 400 });
}

/** 3-63 characters, lower-case letters, digits and single hyphens; the poison suffix must fit too. */
export function assertQueueName(name: string): void {
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,55}[a-z0-9]$/.test(name)) {
    throw new SyncError("validation", ErrorCodes.InvalidConfig, `queue name "${name}" must be 3-57 lower-case letters, digits or single hyphens`);
  }
}
