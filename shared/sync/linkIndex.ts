import type { Link, SyncStateStore } from "../ports.js";
import { Held, HeldLinks } from "./heldLinks.js";

/**
 * A complete read of a mapping with at most this many links holds them whole (835 bytes a link, so
 * up to about 17 MB; one scan answers every look-up); above it, as digests only. Tests lower it.
 */
export const wholeLinks = { upTo: 20_000 };

/**
 * Link look-ups for one run. A complete read needs every link (a linked record it did not see is
 * gone), so it holds the mapping's links as digests (HeldLinks: ids, hash, app version, 64 bytes a
 * link) and reads whole links (with the base of the three-way merge) only for the records it
 * decides, in parallel point reads; a mapping of at most `wholeLinks.upTo` links is held whole. A
 * delta reads only the links of the records it carries, ahead in the same point reads
 * (`prefetch`: the Dataverse rows' at once, the app's a page at a time), however many links the
 * mapping has.
 *
 * Held digests are what the links were when the run began: a link written since is not held (the
 * look-ups answer "no link", as any snapshot would; `heldForApp` says so), and a whole link read
 * later is the link as it is then.
 */
export class LinkIndex {
  /** The digests of every link (complete reads only). */
  private held?: HeldLinks;
  /** Every link whole, by app id (complete reads of a mapping with few links). */
  private whole?: Map<string, Link>;
  /** Whole links read ahead (null: none), by app id and by Dataverse id. */
  private readonly aheadApp = new Map<string, Link | null>();
  private readonly aheadDv = new Map<string, Link | null>();

  private constructor(private readonly state: SyncStateStore, private readonly mapping: string) {}

  static async open(state: SyncStateStore, mapping: string, preload: boolean): Promise<LinkIndex> {
    const index = new LinkIndex(state, mapping);
    if (preload) {
      let held = new HeldLinks();
      for await (const digest of state.listLinkDigests(mapping)) held.add(digest);
      if (held.size <= wholeLinks.upTo) {
        // Few links: listed again whole (the digests and the links then agree).
        held = new HeldLinks();
        const whole = new Map<string, Link>();
        for await (const link of state.listLinks(mapping)) {
          held.add(link);
          whole.set(link.appId, link);
        }
        index.whole = whole;
      }
      index.held = held;
    }
    return index;
  }

  /** Whether every link's digest is held (a complete read). */
  get loaded(): boolean {
    return this.held !== undefined;
  }

  /** The held digests (complete reads only). */
  get digests(): HeldLinks | undefined {
    return this.held;
  }

  /**
   * Reads the whole links of these records ahead, in parallel point reads (SyncStateStore.getLinksByApp
   * and getLinksByDataverse), so that the look-ups after it do not read one by one. A complete read
   * reads only the links it holds a digest of. App ids are read a page of the app's feed at a time:
   * the links read ahead for the page before are let go (a run over a large app feed holds one page
   * of them, not all); so are a complete read's Dataverse ids, which come a page at a time too.
   */
  async prefetch(ids: { appIds?: Iterable<string>; dataverseIds?: Iterable<string> }): Promise<void> {
    if (this.whole) return;
    const held = this.held;
    if (ids.appIds) this.aheadApp.clear();
    if (held && ids.dataverseIds) this.aheadDv.clear();
    const apps = [...new Set(ids.appIds ?? [])].filter((id) => !held || held.byApp(id) >= 0);
    const rows = [...new Set(ids.dataverseIds ?? [])].filter((id) => !this.aheadDv.has(id) && (!held || held.byDataverse(id) >= 0));
    const [byApp, byDv] = await Promise.all([
      apps.length ? this.state.getLinksByApp(this.mapping, apps) : undefined,
      rows.length ? this.rowLinks(rows) : undefined,
    ]);
    for (const id of apps) this.aheadApp.set(id, byApp?.get(id) ?? null);
    for (const id of rows) this.aheadDv.set(id, byDv?.get(id) ?? null);
  }

  /** Whether `byAppId` answers this app id from what was read before (held or read ahead), not from the store now. */
  heldForApp(appId: string): boolean {
    return this.loaded || this.aheadApp.has(appId);
  }

  async byAppId(appId: string): Promise<Link | null> {
    if (this.held && this.held.byApp(appId) < 0) return null;
    if (this.whole) return this.whole.get(appId) ?? null;
    const ahead = this.aheadApp.get(appId);
    if (ahead !== undefined) return ahead;
    return this.state.getLinkByApp(this.mapping, appId);
  }

  async byDataverseId(id: string): Promise<Link | null> {
    const slot = this.held ? this.held.byDataverse(id) : -1;
    if (this.held && slot < 0) return null;
    if (this.whole) return this.whole.get(this.held!.appId(slot)) ?? null;
    const ahead = this.aheadDv.get(id);
    if (ahead !== undefined) return ahead;
    return this.state.getLinkByDataverse(this.mapping, id);
  }

  /** Whether a link to this Dataverse id exists (held, or in the store for a delta). */
  async linksDataverseId(id: string): Promise<boolean> {
    if (this.held) return this.held.byDataverse(id) >= 0;
    return (await this.byDataverseId(id)) !== null;
  }

  /**
   * The held links no complete read accounted for (`gone` picks them by app id and Dataverse id),
   * read whole and fresh: each as it is now, with the ids it names now, or left out when it was
   * removed meanwhile. Read BATCH at a time.
   */
  async *unaccounted(gone: (appId: string, dataverseId: string) => boolean): AsyncIterable<Link> {
    const held = this.held;
    if (!held) return;
    const batch: string[] = [];
    const whole = this.whole;
    const read = async () => {
      const ids = batch.splice(0);
      return whole ? ids.map((id) => whole.get(id)!) : [...(await this.state.getLinksByApp(this.mapping, ids)).values()];
    };
    for (let slot = 0; slot < held.size; slot++) {
      if (held.has(slot, Held.Decided) || !gone(held.appId(slot), held.dataverseId(slot))) continue;
      batch.push(held.appId(slot));
      if (batch.length >= BATCH) yield* await read();
    }
    if (batch.length) yield* await read();
  }

  async count(): Promise<number> {
    return this.held ? this.held.size : this.state.countLinks(this.mapping);
  }

  /** A complete read's Dataverse ids: the links through their pointers, or through held digests' app ids. */
  private async rowLinks(ids: string[]): Promise<Map<string, Link>> {
    const held = this.held;
    if (!held) return this.state.getLinksByDataverse(this.mapping, ids);
    const wanted = new Set(ids);
    const byApp = await this.state.getLinksByApp(this.mapping, ids.map((id) => held.appId(held.byDataverse(id))));
    // As the store's own look-up: the link is the truth, and it may name another row by now.
    return new Map([...byApp.values()].filter((link) => wanted.has(link.dataverseId)).map((link) => [link.dataverseId, link]));
  }
}

/** Whole links read at a time for the leftover pass. */
const BATCH = 1000;
