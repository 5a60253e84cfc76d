import { ErrorCodes, SyncError } from "../errors.js";

/**
 * A string property holds at most 64 KiB (32 Ki UTF-16 code units) and an entity at most 1 MiB,
 * so long text is split over numbered properties and the whole is capped well below the entity
 * limit. The memory fake applies the same cap so both adapters fail alike.
 */
export const CHUNK_CHARS = 30_000;
export const MAX_TEXT_CHARS = 400_000;

/** JSON text of `value`, or a clear PAYLOAD_TOO_LARGE error naming `what`. */
export function toGuardedJson(value: unknown, what: string): string {
  const text = JSON.stringify(value ?? null);
  guardLength(text, what);
  return text;
}

export function guardLength(text: string, what: string): void {
  if (text.length > MAX_TEXT_CHARS) {
    throw new SyncError("validation", ErrorCodes.PayloadTooLarge,
      `${what} is ${text.length} characters; the state store keeps at most ${MAX_TEXT_CHARS}`,
      { details: { what, length: text.length, limit: MAX_TEXT_CHARS } });
  }
}

/** Properties that store `text` under `name` (and `name__1`, `name__2`, ... when long). */
export function writeChunked(name: string, text: string, what: string): Record<string, string | number> {
  guardLength(text, what);
  const chunks = splitChunks(text);
  const props: Record<string, string | number> = { [name]: chunks[0] ?? "" };
  if (chunks.length > 1) {
    props[`${name}__parts`] = chunks.length;
    for (let i = 1; i < chunks.length; i++) props[`${name}__${i}`] = chunks[i];
  }
  return props;
}

export function readChunked(entity: Record<string, unknown>, name: string): string | undefined {
  const first = entity[name];
  if (typeof first !== "string") return undefined;
  const parts = Number(entity[`${name}__parts`] ?? 1);
  let text = first;
  for (let i = 1; i < parts; i++) text += String(entity[`${name}__${i}`] ?? "");
  return text;
}

export function writeJson(name: string, value: unknown, what: string): Record<string, string | number> {
  return writeChunked(name, toGuardedJson(value, what), what);
}

export function readJson<T>(entity: Record<string, unknown>, name: string): T | undefined {
  const text = readChunked(entity, name);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/** Splits without cutting a surrogate pair in half (each half alone would be invalid UTF-16). */
function splitChunks(text: string): string[] {
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + CHUNK_CHARS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks.length ? chunks : [""];
}
