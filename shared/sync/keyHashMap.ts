import { createHash } from "node:crypto";
import { staysInProbeRun } from "./idSet.js";

/**
 * A map from any string key to a 32-bit value, kept as a 64-bit hash of the key (12 bytes a slot in
 * open addressing): the reconcile scan's index of a million app ids costs about 24 MB instead of the
 * hundred or more that strings in a Map would. Two keys whose 64-bit hashes collide (about 3 in 10^8
 * for a million keys) share a slot; the scan only uses it to decide which records to read again, so
 * a collision costs at most one needless re-read or leaves one record to the next reconcile.
 */
const WORDS = 3;
const MIN_SLOTS = 1024;

export class KeyHashMap {
  private table = new Uint32Array(MIN_SLOTS * WORDS);
  private used = 0;
  private readonly k = new Uint32Array(2);

  get size(): number {
    return this.used;
  }

  set(key: string, value: number): void {
    this.hash(key);
    const slot = this.find();
    if (slot >= 0) return void (this.table[slot * WORDS + 2] = value);
    if ((this.used + 1) * 2 > this.slots) this.grow();
    this.insert(this.k[0], this.k[1], value);
    this.used += 1;
  }

  get(key: string): number | undefined {
    this.hash(key);
    const slot = this.find();
    return slot < 0 ? undefined : this.table[slot * WORDS + 2];
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  delete(key: string): boolean {
    this.hash(key);
    const slot = this.find();
    if (slot < 0) return false;
    this.removeAt(slot);
    this.used -= 1;
    return true;
  }

  private get slots(): number {
    return this.table.length / WORDS;
  }

  /** Two words of the key's md5; (0, 0) marks an empty slot, so a key hashing to it is moved to (0, 1). */
  private hash(key: string): void {
    const d = createHash("md5").update(key).digest();
    this.k[0] = d.readUInt32LE(0);
    this.k[1] = d.readUInt32LE(4) || (this.k[0] ? 0 : 1);
  }

  private home(a: number, b: number): number {
    return (Math.imul(a ^ (b >>> 7), 0x9e3779b1) >>> 0) & (this.slots - 1);
  }

  private find(): number {
    const t = this.table;
    const mask = this.slots - 1;
    const [a, b] = this.k;
    for (let s = this.home(a, b); ; s = (s + 1) & mask) {
      const o = s * WORDS;
      if ((t[o] | t[o + 1]) === 0) return -1;
      if (t[o] === a && t[o + 1] === b) return s;
    }
  }

  private insert(a: number, b: number, value: number): void {
    const t = this.table;
    const mask = this.slots - 1;
    let s = this.home(a, b);
    while (t[s * WORDS] | t[s * WORDS + 1]) s = (s + 1) & mask;
    t[s * WORDS] = a;
    t[s * WORDS + 1] = b;
    t[s * WORDS + 2] = value;
  }

  /** Backward-shift deletion, as in IdSet. */
  private removeAt(slot: number): void {
    const t = this.table;
    const mask = this.slots - 1;
    let hole = slot;
    for (let s = (slot + 1) & mask; ; s = (s + 1) & mask) {
      const o = s * WORDS;
      if ((t[o] | t[o + 1]) === 0) break;
      const home = this.home(t[o], t[o + 1]);
      if (staysInProbeRun(hole, s, home)) continue;
      t.copyWithin(hole * WORDS, o, o + WORDS);
      hole = s;
    }
    t.fill(0, hole * WORDS, hole * WORDS + WORDS);
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    for (let o = 0; o < old.length; o += WORDS) if (old[o] | old[o + 1]) this.insert(old[o], old[o + 1], old[o + 2]);
  }
}
