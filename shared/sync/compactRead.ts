import type { DataverseRow } from "../ports.js";
import { IdSet } from "./idSet.js";
import { KeyHashMap } from "./keyHashMap.js";

/**
 * Complete Dataverse reads (first run, full mode, expired delta token) keep their rows as they are
 * up to `above` rows; above it the read turns compact (see CompactRead). Tests lower it to run the
 * compact path on small tables, and give `keyHash` to force key-hash collisions.
 */
export const compactReads: { above: number; keyHash?: (key: string) => string } = { above: 20_000 };

/** The value kept for a row that must be read again whatever its link says (unmappable, filtered). */
export const MUST_READ = 0;
/** The value kept for a row an app record has claimed (CompactRead.claim): still read, no longer a leftover. */
const CLAIMED = 1;

/** How a row is reduced: its mapped values' hash (hash32, or undefined when they cannot be mapped) and its key. */
export interface CompactOptions {
  above: number;
  hash: (row: DataverseRow) => number | undefined | Promise<number | undefined>;
  key: (row: DataverseRow) => string | null;
  /** What the key map hashes (default: the key itself); tests force collisions with it. */
  keyHash?: (key: string) => string;
}

/** Index values from here on name a row id that is not a GUID (kept as a string). */
const OTHER = 0x8000_0000;

/**
 * A complete Dataverse read reduced to what the planner needs to pair it page by page: each row's
 * id with the first 32 bits of its mapped values' hash (as links keep theirs), and, when the
 * mapping has a key, key → row id for first-sync matching. About 40 bytes a row (80 with a key) instead of the row.
 * The planner claims ids as app records pair with them; the ids left are decided by a second read.
 * A claimed id stays, marked (CLAIMED), so the one set also tells which rows the read saw (`wasRead`).
 */
export class CompactRead {
  /** Row id → hash32 of its mapped values (MUST_READ: read it again and decide it; CLAIMED: paired). */
  private readonly ids = IdSet.withValues();
  /** Rows read into it (claims do not lower it). */
  total = 0;
  private readonly keys = new KeyHashMap();
  /** Keys whose slot in `keys` was taken already (a hash collision, or a duplicate key): kept exactly. */
  private readonly overflow = new Map<string, number>();
  /** Row ids of `keys`' values, four 32-bit words a GUID. */
  private guids = new Uint32Array(1024 * 4);
  private guidCount = 0;
  private readonly others: string[] = [];

  constructor(private readonly primaryId: string, private readonly options: CompactOptions) {}

  async add(row: DataverseRow): Promise<void> {
    const id = String(row[this.primaryId]);
    let hash = this.options.hash(row);
    if (hash instanceof Promise) hash = await hash;
    // A real hash equal to a marker is moved off it: it then differs from its link's, which costs one re-read.
    this.ids.add(id, hash === undefined ? MUST_READ : hash === MUST_READ || hash === CLAIMED ? 2 : hash);
    this.total += 1;
    const key = this.options.key(row);
    if (!key) return;
    const hashed = this.hashKey(key);
    const index = this.store(id);
    if (this.keys.has(hashed)) this.overflow.set(key, index);
    else this.keys.set(hashed, index);
  }

  /** Whether the row was read and is not claimed yet. */
  has(id: string): boolean {
    return this.hashOf(id) !== undefined;
  }

  /** Whether the read saw this row (claimed or not). */
  wasRead(id: string): boolean {
    return this.ids.has(id);
  }

  /** The row's hash, or undefined once claimed (or never read). */
  hashOf(id: string): number | undefined {
    const value = this.ids.get(id);
    return value === CLAIMED ? undefined : value;
  }

  /** Takes the row out of the leftovers; false when it was claimed already or never read. */
  claim(id: string): boolean {
    if (!this.has(id)) return false;
    this.ids.add(id, CLAIMED);
    return true;
  }

  /**
   * The id of a row read with this key, if any. A candidate only: two keys may share a hash, so the
   * caller checks the key on the row it reads.
   */
  candidate(key: string): string | undefined {
    const index = this.overflow.get(key) ?? this.keys.get(this.hashKey(key));
    return index === undefined ? undefined : this.idAt(index);
  }

  /** Forgets the key once its row is paired (only the entry that points to that row). */
  forgetKey(key: string, id: string): void {
    const exact = this.overflow.get(key);
    if (exact !== undefined && this.idAt(exact) === id) return void this.overflow.delete(key);
    const hashed = this.hashKey(key);
    const index = this.keys.get(hashed);
    if (index !== undefined && this.idAt(index) === id) this.keys.delete(hashed);
  }

  private hashKey(key: string): string {
    return this.options.keyHash ? this.options.keyHash(key) : key;
  }

  private store(id: string): number {
    const hex = id.length === 36 ? id.replaceAll("-", "") : "";
    if (!/^[0-9a-f]{32}$/.test(hex)) return OTHER + this.others.push(id) - 1;
    if ((this.guidCount + 1) * 4 > this.guids.length) {
      const bigger = new Uint32Array(this.guids.length * 2);
      bigger.set(this.guids);
      this.guids = bigger;
    }
    const o = this.guidCount * 4;
    for (let w = 0; w < 4; w++) this.guids[o + w] = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    return this.guidCount++;
  }

  private idAt(index: number): string {
    if (index >= OTHER) return this.others[index - OTHER];
    const hex = Array.from(this.guids.subarray(index * 4, index * 4 + 4), (w) => w.toString(16).padStart(8, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
}
