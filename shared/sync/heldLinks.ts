import type { LinkDigest } from "../ports.js";
import { fnv1a } from "./hash.js";
import { format, guidWords, IdSet } from "./idSet.js";

/** Marks a held link carries through a run (HeldLinks.mark). */
export const enum Held {
  /** Its app record was in the app's complete read. */
  SeenApp = 1,
  /** Decided with its app record: the leftover pass leaves it alone. */
  Decided = 2,
  PendingCreate = 4,
  HasVersion = 8,
}

const MIN_SLOTS = 1024;

/**
 * What a complete read keeps of each of the mapping's links: its ids, the first 64 bits of its hash,
 * a 32-bit hash of its app version and a few marks, in typed arrays (64 bytes a link at 1,000,000,
 * against 835 for the link with its base: test/bench/linkIndexBytes.ts). A complete read needs every
 * link (a linked record missing from it is gone); the base of the three-way merge is read by id only
 * for the records that are decided (LinkIndex).
 *
 * Exact: app ids are kept as strings (a Map), Dataverse ids as GUID words (IdSet; any other string as
 * it is). A link's slot never changes; a Dataverse id named by two links (a link re-pointed while the
 * digests were listed) finds the last one.
 */
export class HeldLinks {
  private readonly slotOfApp = new Map<string, number>();
  private readonly slotOfDv = IdSet.withValues();
  private appIds: string[] = [];
  /** Four words a slot: the Dataverse id as a GUID (all zero: it is in `otherDv`). */
  private dvWords = new Uint32Array(MIN_SLOTS * 4);
  private readonly otherDv = new Map<number, string>();
  /** Two words a slot: the first 64 bits of the link's hash. */
  private hashes = new Uint32Array(MIN_SLOTS * 2);
  private versions = new Uint32Array(MIN_SLOTS);
  private marks = new Uint8Array(MIN_SLOTS);
  private used = 0;

  get size(): number {
    return this.used;
  }

  add(link: LinkDigest): void {
    const known = this.slotOfApp.get(link.appId);
    const slot = known ?? this.used;
    if (known === undefined) {
      if (slot === this.marks.length) this.grow();
      this.used += 1;
      this.slotOfApp.set(link.appId, slot);
      this.appIds.push(link.appId);
    }
    if (guidWords(link.dataverseId, this.dvWords, slot * 4)) this.otherDv.delete(slot);
    else {
      this.dvWords.fill(0, slot * 4, slot * 4 + 4);
      this.otherDv.set(slot, link.dataverseId);
    }
    this.slotOfDv.add(link.dataverseId, slot);
    this.hashes[slot * 2] = wordOf(link.hash, 0);
    this.hashes[slot * 2 + 1] = wordOf(link.hash, 8);
    this.versions[slot] = link.appVersion === undefined ? 0 : fnv1a(link.appVersion);
    this.marks[slot] = (link.pendingCreate ? Held.PendingCreate : 0) | (link.appVersion === undefined ? 0 : Held.HasVersion);
  }

  /** The slot of the link of this app id, or -1. */
  byApp(appId: string): number {
    return this.slotOfApp.get(appId) ?? -1;
  }

  /** The slot of the link naming this Dataverse id, or -1. */
  byDataverse(id: string): number {
    const slot = this.slotOfDv.get(id);
    return slot !== undefined && this.dataverseId(slot) === id ? slot : -1;
  }

  appId(slot: number): string {
    return this.appIds[slot];
  }

  dataverseId(slot: number): string {
    return this.otherDv.get(slot) ?? format(this.dvWords, slot * 4);
  }

  /** `hash32` of the link's hash (what echo checks and compact reads compare with). */
  hash32(slot: number): number {
    return this.hashes[slot * 2];
  }

  /** Whether the first 64 bits of a record's hash (hash64Canonical) are the link's. */
  hashIs(slot: number, [high, low]: [number, number]): boolean {
    return this.hashes[slot * 2] === high && this.hashes[slot * 2 + 1] === low;
  }

  /** Whether the link was stored at this app version (equal hashes of it). */
  versionIs(slot: number, version: string | undefined): boolean {
    if (version === undefined) return !this.has(slot, Held.HasVersion);
    return this.has(slot, Held.HasVersion) && this.versions[slot] === fnv1a(version);
  }

  has(slot: number, mark: Held): boolean {
    return (this.marks[slot] & mark) !== 0;
  }

  mark(slot: number, mark: Held): void {
    this.marks[slot] |= mark;
  }

  private grow(): void {
    const n = this.marks.length * 2;
    const widen = <T extends Uint32Array | Uint8Array>(old: T, make: (length: number) => T, per: number): T => {
      const next = make(n * per);
      next.set(old);
      return next;
    };
    this.dvWords = widen(this.dvWords, (l) => new Uint32Array(l), 4);
    this.hashes = widen(this.hashes, (l) => new Uint32Array(l), 2);
    this.versions = widen(this.versions, (l) => new Uint32Array(l), 1);
    this.marks = widen(this.marks, (l) => new Uint8Array(l), 1);
  }
}

/** 32 bits of a hex hash from character `at` (0 when it is shorter: a create intent's empty hash). */
function wordOf(hash: string, at: number): number {
  const word = Number.parseInt(hash.slice(at, at + 8), 16);
  return Number.isNaN(word) ? 0 : word >>> 0;
}
