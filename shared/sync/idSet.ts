/**
 * A set of record ids for runs that must remember every id they read (a million Dataverse rows):
 * a lower-case GUID, which every Dataverse row id is, is kept as 16 bytes in an open-addressing
 * table (about 32 bytes a GUID with the table's spare room, against about 80 for a string in a
 * `Set`); any other string is kept as it is. Exact, iterable, and ids come back as they went in.
 */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WORDS = 4;
const MIN_SLOTS = 1024;

export class IdSet implements Iterable<string> {
  /** WORDS words a slot; a slot whose words are all zero is empty (the all-zero GUID is kept apart). */
  private table = new Uint32Array(MIN_SLOTS * WORDS);
  /** One 32-bit value a slot, only when the set was made `withValues` (4 more bytes a slot). */
  private values: Uint32Array | undefined;
  private used = 0;
  private zero = false;
  private zeroValue = 0;
  private readonly others = new Map<string, number>();
  private readonly key = new Uint32Array(WORDS);

  /** A set that also keeps a 32-bit value per id (`add(id, value)`, `get(id)`). */
  static withValues(): IdSet {
    const set = new IdSet();
    set.values = new Uint32Array(MIN_SLOTS);
    return set;
  }

  get size(): number {
    return this.used + (this.zero ? 1 : 0) + this.others.size;
  }

  /** Adds `id`; with `withValues`, sets its value (an id added again takes the new value). */
  add(id: string, value = 0): this {
    if (!this.parse(id)) return this.others.set(id, value >>> 0), this;
    if (this.isZeroKey()) return (this.zero = true), (this.zeroValue = value >>> 0), this;
    const found = this.find(this.key);
    if (found >= 0) {
      if (this.values) this.values[found] = value;
      return this;
    }
    if ((this.used + 1) * 2 > this.slots) this.grow();
    const slot = this.insert(this.key);
    if (this.values) this.values[slot] = value;
    this.used += 1;
    return this;
  }

  /** The value kept for `id` (0 for a set made without values), or undefined when absent. */
  get(id: string): number | undefined {
    if (!this.parse(id)) return this.others.get(id);
    if (this.isZeroKey()) return this.zero ? this.zeroValue : undefined;
    const slot = this.find(this.key);
    if (slot < 0) return undefined;
    return this.values ? this.values[slot] : 0;
  }

  has(id: string): boolean {
    if (!this.parse(id)) return this.others.has(id);
    if (this.isZeroKey()) return this.zero;
    return this.find(this.key) >= 0;
  }

  delete(id: string): boolean {
    if (!this.parse(id)) return this.others.delete(id);
    if (this.isZeroKey()) return this.zero ? !(this.zero = false) : false;
    const slot = this.find(this.key);
    if (slot < 0) return false;
    this.removeAt(slot);
    this.used -= 1;
    return true;
  }

  *[Symbol.iterator](): IterableIterator<string> {
    const t = this.table;
    for (let s = 0; s < this.slots; s++) {
      const o = s * WORDS;
      if (t[o] | t[o + 1] | t[o + 2] | t[o + 3]) yield format(t, o);
    }
    if (this.zero) yield "00000000-0000-0000-0000-000000000000";
    yield* this.others.keys();
  }

  private get slots(): number {
    return this.table.length / WORDS;
  }

  private parse(id: string): boolean {
    return guidWords(id, this.key, 0);
  }

  private isZeroKey(): boolean {
    const k = this.key;
    return (k[0] | k[1] | k[2] | k[3]) === 0;
  }

  private home(k: ArrayLike<number>, offset = 0): number {
    // murmur3's finalizer over the four words: Dataverse GUIDs are sequential in parts.
    let h = k[offset] ^ Math.imul(k[offset + 1], 0x9e3779b1) ^ Math.imul(k[offset + 2], 0x85ebca6b) ^ Math.imul(k[offset + 3], 0xc2b2ae35);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) & (this.slots - 1);
  }

  /** The slot holding `k`, or -1 (linear probing). */
  private find(k: Uint32Array): number {
    const t = this.table;
    const mask = this.slots - 1;
    for (let s = this.home(k); ; s = (s + 1) & mask) {
      const o = s * WORDS;
      if ((t[o] | t[o + 1] | t[o + 2] | t[o + 3]) === 0) return -1;
      if (t[o] === k[0] && t[o + 1] === k[1] && t[o + 2] === k[2] && t[o + 3] === k[3]) return s;
    }
  }

  /** Puts `k` in its first free slot and returns that slot. */
  private insert(k: ArrayLike<number>, offset = 0): number {
    const t = this.table;
    const mask = this.slots - 1;
    let s = this.home(k, offset);
    while (t[s * WORDS] | t[s * WORDS + 1] | t[s * WORDS + 2] | t[s * WORDS + 3]) s = (s + 1) & mask;
    for (let w = 0; w < WORDS; w++) t[s * WORDS + w] = k[offset + w];
    return s;
  }

  /** Backward-shift deletion: later entries of the probe run move up, so no tombstones are needed. */
  private removeAt(slot: number): void {
    const t = this.table;
    const mask = this.slots - 1;
    let hole = slot;
    for (let s = (slot + 1) & mask; ; s = (s + 1) & mask) {
      const o = s * WORDS;
      if ((t[o] | t[o + 1] | t[o + 2] | t[o + 3]) === 0) break;
      const home = this.home(t, o);
      if (staysInProbeRun(hole, s, home)) continue;
      t.copyWithin(hole * WORDS, o, o + WORDS);
      if (this.values) this.values[hole] = this.values[s];
      hole = s;
    }
    t.fill(0, hole * WORDS, hole * WORDS + WORDS);
    if (this.values) this.values[hole] = 0;
  }

  private grow(): void {
    const old = this.table;
    const oldValues = this.values;
    this.table = new Uint32Array(old.length * 2);
    if (oldValues) this.values = new Uint32Array(oldValues.length * 2);
    for (let o = 0; o < old.length; o += WORDS) {
      if (!(old[o] | old[o + 1] | old[o + 2] | old[o + 3])) continue;
      const slot = this.insert(old, o);
      if (oldValues && this.values) this.values[slot] = oldValues[o / WORDS];
    }
  }
}

/** Writes a lower-case GUID as four 32-bit words at `out[offset]`; false (nothing written) for any other string. */
export function guidWords(id: string, out: Uint32Array, offset: number): boolean {
  if (id.length !== 36 || !GUID.test(id)) return false;
  out[offset] = Number.parseInt(id.slice(0, 8), 16);
  out[offset + 1] = Number.parseInt(id.slice(9, 13) + id.slice(14, 18), 16);
  out[offset + 2] = Number.parseInt(id.slice(19, 23) + id.slice(24, 28), 16);
  out[offset + 3] = Number.parseInt(id.slice(28, 36), 16);
  return true;
}

/** The GUID whose four words are at `t[o]` (the inverse of guidWords). */
export function format(t: Uint32Array, o: number): string {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const a = hex(t[o]);
  const b = hex(t[o + 1]);
  const c = hex(t[o + 2]);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${hex(t[o + 3])}`;
}

/**
 * Backward-shift deletion in a linear-probing table: the entry at slot `s` (whose home slot is
 * `home`) may move up into the `hole` unless its home lies cyclically in (hole, s].
 */
export function staysInProbeRun(hole: number, s: number, home: number): boolean {
  return hole <= s ? home > hole && home <= s : home > hole || home <= s;
}
