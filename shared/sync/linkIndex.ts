import type { Link, SyncStateStore } from "../ports.js";

/**
 * Link look-ups for one run. Large or full runs load the mapping's links once (one scan instead of a
 * Table read per record); small deltas read point by point.
 */
export class LinkIndex {
  private byApp?: Map<string, Link>;
  private byDv?: Map<string, Link>;

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

  async byAppId(appId: string): Promise<Link | null> {
    if (this.byApp) return this.byApp.get(appId) ?? null;
    return this.state.getLinkByApp(this.mapping, appId);
  }

  async byDataverseId(id: string): Promise<Link | null> {
    if (this.byDv) return this.byDv.get(id) ?? null;
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
