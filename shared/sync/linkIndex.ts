import type { Link, SyncStateStore } from "../ports.js";

/**
 * Link look-ups for one run. Complete reads load the mapping's links once (they must also find the
 * linked records a complete read did not see); deltas read only the links of the records they
 * carry, ahead in parallel point reads (`prefetch`: the Dataverse rows' at once, the app's a page at
 * a time), however many links the mapping has.
 */
export class LinkIndex {
  private byApp?: Map<string, Link>;
  private byDv?: Map<string, Link>;
  /** Links read ahead for a delta (null: none), by app id and by Dataverse id. */
  private readonly aheadApp = new Map<string, Link | null>();
  private readonly aheadDv = new Map<string, Link | null>();

  private constructor(private readonly state: SyncStateStore, private readonly mapping: string) {}

  static async open(state: SyncStateStore, mapping: string, preload: boolean): Promise<LinkIndex> {
    const index = new LinkIndex(state, mapping);
    if (preload) {
      index.byApp = new Map();
      index.byDv = new Map();
      for await (const link of state.listLinks(mapping)) {
        index.byApp.set(link.appId, link);
        index.byDv.set(link.dataverseId, link);
      }
    }
    return index;
  }

  get loaded(): boolean {
    return this.byApp !== undefined;
  }

  /**
   * Reads the links of these records ahead, in parallel point reads (SyncStateStore.getLinksByApp
   * and getLinksByDataverse), so that the look-ups after it do not read one by one. Nothing when
   * loaded. App ids are read a page of the app's feed at a time: the links read ahead for the page
   * before are let go (a run over a large app delta holds one page of them, not all).
   */
  async prefetch(ids: { appIds?: Iterable<string>; dataverseIds?: Iterable<string> }): Promise<void> {
    if (this.byApp) return;
    if (ids.appIds) this.aheadApp.clear();
    const apps = [...new Set(ids.appIds ?? [])];
    const rows = [...new Set(ids.dataverseIds ?? [])].filter((id) => !this.aheadDv.has(id));
    const [byApp, byDv] = await Promise.all([
      apps.length ? this.state.getLinksByApp(this.mapping, apps) : undefined,
      rows.length ? this.state.getLinksByDataverse(this.mapping, rows) : undefined,
    ]);
    for (const id of apps) this.aheadApp.set(id, byApp?.get(id) ?? null);
    for (const id of rows) this.aheadDv.set(id, byDv?.get(id) ?? null);
  }

  /** Whether `byAppId` answers this app id from what was read before (loaded or read ahead), not from the store now. */
  heldForApp(appId: string): boolean {
    return this.loaded || this.aheadApp.has(appId);
  }

  async byAppId(appId: string): Promise<Link | null> {
    if (this.byApp) return this.byApp.get(appId) ?? null;
    const ahead = this.aheadApp.get(appId);
    if (ahead !== undefined) return ahead;
    return this.state.getLinkByApp(this.mapping, appId);
  }

  async byDataverseId(id: string): Promise<Link | null> {
    if (this.byDv) return this.byDv.get(id) ?? null;
    const ahead = this.aheadDv.get(id);
    if (ahead !== undefined) return ahead;
    return this.state.getLinkByDataverse(this.mapping, id);
  }

  /** All links (only when preloaded). */
  all(): Link[] {
    return this.byApp ? [...this.byApp.values()] : [];
  }

  async count(): Promise<number> {
    return this.byApp ? this.byApp.size : this.state.countLinks(this.mapping);
  }
}
