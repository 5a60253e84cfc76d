import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import type { Canonical, Link, LinkDigest } from "../ports.js";
import { encodeKey, LinkRowPrefix, linkAppRowKey, linkDataverseRowKey } from "./keys.js";
import { readJson, writeJson } from "./jsonColumn.js";
import { retryOnConcurrency } from "./casRetry.js";
import { concurrencyError, isConcurrency, statusOf, translateStorageError } from "./tableErrors.js";
import { defined, deleteIfExists, getMany, getOrNull, optionalString, requireEtag, wrap, type Row } from "./tableSupport.js";
import { ErrorCodes, SyncError } from "../errors.js";
import { mapLimited } from "../mapLimited.js";
// FNV-1a decides where links live: it must stay stable across processes and versions.
import { fnv1a } from "../sync/hash.js";

/**
 * Links: two index entities per link: `a|<appId>` holds the link, `d|<dataverseId>` points back to
 * the app id. A link's ETag is the ETag of its `a|` entity. The link is the truth: a pointer counts
 * only while the link it names names its Dataverse id back.
 *
 * Where they live (LinkLayout): a mapping whose links were first written by this version spreads
 * them over BUCKETS partitions, `a|` by a hash of the app id and `d|` by a hash of the Dataverse id,
 * because one partition serves about 2,000 entities per second ("Scalability and performance
 * targets for Table storage", learn.microsoft.com/azure/storage/tables/scalability-targets) and a
 * load at several web servers' allowance writes more. A link and its pointer then usually sit in
 * different partitions, so no transaction holds both: the pointer is written first and the link
 * second, and a link is deleted before its pointer. A crash in between leaves a pointer whose link
 * does not name it, which reads ignore and the retried write completes; never a link that its
 * Dataverse id cannot find. A mapping that already had links in its single partition keeps them
 * there (`buckets: 1`, link and pointer in one transaction, as before); the choice is recorded once
 * per mapping in a `~layout` entity, so every process agrees on it.
 */
/** A Table transaction holds at most 100 operations and 4 MiB; we stay below both. */
const MAX_ACTIONS = 100;
const MAX_TRANSACTION_CHARS = 1_500_000;
const TRANSACTION_CONCURRENCY = 4;
/**
 * Partitions a new mapping's links spread over: at four web servers' allowance (about 1,200 records
 * a second in the benchmark's cost model, two to four entity writes each) a partition takes 300–600
 * entities a second; a write message of 500 links touches each partition once or twice.
 */
export const LINK_BUCKETS = 8;
/** Partition of the layout entities (RowKey: the encoded mapping name); `~` sorts after every encoded key. */
const LAYOUT_PARTITION = "~layout";

/** The partitions of one mapping's links. */
class LinkLayout {
  constructor(private readonly mapping: string, readonly buckets: number) {}

  /** One partition for link and pointer: written together in one transaction. */
  get single(): boolean {
    return this.buckets === 1;
  }

  app(appId: string): string {
    return this.partition(appId);
  }

  dataverse(dataverseId: string): string {
    return this.partition(dataverseId);
  }

  partitions(): string[] {
    return this.single ? [encodeKey(this.mapping)] : Array.from({ length: this.buckets }, (_, b) => `${encodeKey(this.mapping)}|${b}`);
  }

  private partition(id: string): string {
    // `|` is escaped by encodeKey, so a bucket's partition never equals another mapping's.
    return this.single ? encodeKey(this.mapping) : `${encodeKey(this.mapping)}|${fnv1a(id) % this.buckets}`;
  }
}

type Batch = { actions: TransactionAction[]; links: Link[] };
type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

export class TableLinks {
  private readonly layouts = new Map<string, Promise<LinkLayout>>();

  constructor(private readonly client: TableClient, private readonly newBuckets: number = LINK_BUCKETS) {}

  async getByApp(mapping: string, appId: string): Promise<Link | null> {
    const layout = await this.layout(mapping);
    const row = await getOrNull(this.client, layout.app(appId), linkAppRowKey(appId), "read link");
    return row ? toLink(row, mapping) : null;
  }

  async getByDataverse(mapping: string, dataverseId: string): Promise<Link | null> {
    const layout = await this.layout(mapping);
    const pointer = await getOrNull(this.client, layout.dataverse(dataverseId), linkDataverseRowKey(dataverseId), "read link pointer");
    const appId = optionalString(pointer?.appId);
    if (appId === undefined) return null;
    const link = await this.getByApp(mapping, appId);
    // The pointer may outlive a re-pointed link, or precede a link not written yet; the link is the truth.
    return link && link.dataverseId === dataverseId ? link : null;
  }

  /** The links of many app ids, a few queries in all (SyncStateStore.getLinksByApp). */
  async getManyByApp(mapping: string, appIds: readonly string[]): Promise<Map<string, Link>> {
    const layout = await this.layout(mapping);
    const rows = await this.readMany(groupBy(appIds, (id) => layout.app(id), linkAppRowKey), "read links");
    return new Map(rows.map((row) => toLink(row, mapping)).map((link) => [link.appId, link]));
  }

  /** The links of many Dataverse ids: their pointers in a few queries, then the links they name. */
  async getManyByDataverse(mapping: string, dataverseIds: readonly string[]): Promise<Map<string, Link>> {
    const layout = await this.layout(mapping);
    const pointers = await this.readMany(groupBy(dataverseIds, (id) => layout.dataverse(id), linkDataverseRowKey), "read link pointers");
    const appIds = pointers.flatMap((p) => optionalString(p.appId) ?? []);
    const wanted = new Set(dataverseIds);
    const out = new Map<string, Link>();
    // As getByDataverse: a pointer may outlive a re-pointed link for an instant; the link is the truth.
    for (const link of (await this.getManyByApp(mapping, appIds)).values()) if (wanted.has(link.dataverseId)) out.set(link.dataverseId, link);
    return out;
  }

  async put(link: Link): Promise<Link> {
    if (link.etag) return this.putOnce(link, link.etag);
    return retryOnConcurrency(`link ${link.mapping}/${link.appId}`, () => this.putOnce(link, undefined));
  }

  /**
   * Upserts in transactions of up to 100 entities per partition: one round trip per 50–100 links
   * instead of a read and a write per link. A claim (Link.claim) goes in as a create of its `a|`
   * entity: when one exists, the transaction fails as a whole, and its links are written one by one
   * (claimOnce decides each claim). Returns the refused claims. With buckets, every pointer is
   * written before any link (see the class doc).
   */
  async putMany(links: Link[]): Promise<Link[]> {
    const byMapping = new Map<string, Map<string, Link>>();
    for (const link of links) {
      const inMapping = byMapping.get(link.mapping) ?? new Map<string, Link>();
      inMapping.set(link.appId, link); // a link written twice: the last one wins, as with single puts
      byMapping.set(link.mapping, inMapping);
    }
    const refused: Link[] = [];
    for (const [mapping, inMapping] of byMapping) {
      const layout = await this.layout(mapping);
      refused.push(...(await this.putManyIn(layout, [...inMapping.values()])));
    }
    return refused;
  }

  async delete(link: Link): Promise<void> {
    if (link.etag) return this.deleteOnce(link, link.etag);
    return retryOnConcurrency(`link ${link.mapping}/${link.appId}`, () => this.deleteOnce(link, undefined));
  }

  async *digests(mapping: string): AsyncIterable<LinkDigest> {
    const select = ["appId", "dataverseId", "hash", "appVersion", "pendingCreate"];
    for await (const row of this.appRows(mapping, select)) {
      const appVersion = optionalString(row.appVersion);
      yield {
        appId: String(row.appId), dataverseId: String(row.dataverseId), hash: String(row.hash ?? ""),
        ...(appVersion !== undefined ? { appVersion } : {}), ...(row.pendingCreate === true ? { pendingCreate: true } : {}),
      };
    }
  }

  async *list(mapping: string): AsyncIterable<Link> {
    for await (const row of this.appRows(mapping)) yield toLink(row, mapping);
  }

  async count(mapping: string): Promise<number> {
    const layout = await this.layout(mapping);
    return wrap("count links", async () => {
      let n = 0;
      for (const pk of layout.partitions()) {
        const rows = this.client.listEntities({ queryOptions: { filter: appRowsFilter(pk), select: ["RowKey"] } });
        for await (const page of rows.byPage({ maxPageSize: 1000 })) n += page.length;
      }
      return n;
    });
  }

  /** Where `mapping`'s links live, decided once per mapping for every process (see the class doc), then cached. */
  private layout(mapping: string): Promise<LinkLayout> {
    let found = this.layouts.get(mapping);
    if (!found) {
      found = this.decideLayout(mapping);
      this.layouts.set(mapping, found);
      // A failed read is not remembered: the next call asks the store again.
      found.catch(() => this.layouts.delete(mapping));
    }
    return found;
  }

  private async decideLayout(mapping: string): Promise<LinkLayout> {
    const key = encodeKey(mapping);
    for (;;) {
      const marker = await getOrNull(this.client, LAYOUT_PARTITION, key, "read the link layout");
      if (marker) {
        const buckets = Number(marker.buckets);
        if (!Number.isInteger(buckets) || buckets < 1 || buckets > 256) {
          throw new SyncError("permanent", ErrorCodes.BadRequest, `the link layout of mapping ${mapping} is damaged (buckets: ${String(marker.buckets)}); it must be a whole number from 1 to 256`);
        }
        return new LinkLayout(mapping, buckets);
      }
      // Links from before buckets (any entity in the mapping's own partition) stay where they are.
      const legacy = await wrap("read the link layout", async () => {
        // The service may answer a page with no entities and a continuation: read on until one has some.
        for await (const page of this.client.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${key}`, select: ["RowKey"] } }).byPage({ maxPageSize: 1 })) if (page.length > 0) return true;
        return false;
      });
      try {
        await this.client.createEntity({ partitionKey: LAYOUT_PARTITION, rowKey: key, buckets: legacy ? 1 : this.newBuckets });
      } catch (e) {
        // Another process decided first: read its choice.
        if (statusOf(e) === 409) continue;
        throw translateStorageError(e, "record the link layout");
      }
      return new LinkLayout(mapping, legacy ? 1 : this.newBuckets);
    }
  }

  private async *appRows(mapping: string, select?: string[]): AsyncIterable<Row> {
    const layout = await this.layout(mapping);
    try {
      for (const pk of layout.partitions()) {
        yield* this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: appRowsFilter(pk), ...(select ? { select } : {}) } }) as AsyncIterable<Row>;
      }
    } catch (e) {
      throw translateStorageError(e, "list links");
    }
  }

  /** The rows of each partition's keys, a few partitions at a time (a batch of ids touches up to every bucket). */
  private async readMany(groups: Map<string, string[]>, operation: string): Promise<Row[]> {
    const pages = await mapLimited([...groups], TRANSACTION_CONCURRENCY, ([pk, rowKeys]) => getMany(this.client, pk, rowKeys, operation));
    return pages.flat();
  }

  /**
   * One partition: each link and its pointer in the same transaction, up to 50 links to one.
   * Buckets: every pointer first (grouped by its partition), then the links (grouped by theirs).
   * Two links naming one Dataverse id: the first one's pointer (a transaction cannot hold both).
   * A link marked `pointerWritten` goes without its pointer, either way.
   */
  private async putManyIn(layout: LinkLayout, links: Link[]): Promise<Link[]> {
    // A pointer its writer stored earlier in the same message (Link.pointerWritten) stands as it is.
    const pointers = new Map<string, Link>();
    for (const link of links) if (!link.pointerWritten && !pointers.has(link.dataverseId)) pointers.set(link.dataverseId, link);
    const linkAction = (pk: string, l: Link): TransactionAction => (l.claim ? ["create", linkEntity(pk, l)] : ["upsert", linkEntity(pk, l), "Replace"]);
    const pointerAction = (pk: string, l: Link): TransactionAction => ["upsert", pointerEntity(pk, l), "Replace"];
    if (layout.single) {
      return this.submitLinkBatches(layout, batchesOf(links, (l) => layout.app(l.appId), (pk, l) => (pointers.get(l.dataverseId) === l ? [linkAction(pk, l), pointerAction(pk, l)] : [linkAction(pk, l)])));
    }
    const pointerBatches = batchesOf([...pointers.values()], (l) => layout.dataverse(l.dataverseId), (pk, l) => [pointerAction(pk, l)]);
    await mapLimited(pointerBatches, TRANSACTION_CONCURRENCY, (b) => this.submit(b.actions, "a batch of link pointers"));
    return this.submitLinkBatches(layout, batchesOf(links, (l) => layout.app(l.appId), (pk, l) => [linkAction(pk, l)]));
  }

  /** Sends link batches a few at a time; a batch whose claim met an existing link is written one by one. */
  private async submitLinkBatches(layout: LinkLayout, batches: Batch[]): Promise<Link[]> {
    const refused: Link[] = [];
    await mapLimited(batches, TRANSACTION_CONCURRENCY, async (batch) => {
      try {
        await this.submit(batch.actions, "a batch of links");
      } catch (e) {
        if (!isConcurrency(e) || !batch.links.some((l) => l.claim)) throw e;
        for (const link of batch.links) {
          if (!link.claim) await this.writeTogether(layout, link, [["upsert", linkEntity(layout.app(link.appId), link), "Replace"]]);
          else if (!(await retryOnConcurrency(`link ${link.mapping}/${link.appId}`, () => this.claimOnce(layout, link)))) refused.push(link);
        }
      }
    });
    return refused;
  }

  /** One claim: written when the app id has no link, an intent, or a link to the same row; false when refused. */
  private async claimOnce(layout: LinkLayout, link: Link): Promise<boolean> {
    const pkA = layout.app(link.appId);
    const current = await getOrNull(this.client, pkA, linkAppRowKey(link.appId), "read link");
    if (current && current.pendingCreate !== true && optionalString(current.dataverseId) !== link.dataverseId) {
      // Refused. With buckets its pointer went first: take it back if it is still ours.
      if (!layout.single) await this.dropOwnedPointer(layout, link.dataverseId, link.appId);
      return false;
    }
    const entity = linkEntity(pkA, link);
    await this.writeTogether(layout, link, [current ? ["update", entity, "Replace", { etag: current.etag }] : ["create", entity]]);
    return true;
  }

  /**
   * The link write `linkActions` (on its `a|` entity) with the link's pointer: in one transaction in
   * a single partition; with buckets, the pointer first.
   */
  private async writeTogether(layout: LinkLayout, link: Link, linkActions: TransactionAction[]): Promise<void> {
    const what = `link ${link.mapping}/${link.appId}`;
    if (layout.single) {
      await this.submit([...linkActions, ["upsert", pointerEntity(layout.partitions()[0], link), "Replace"]], what);
      return;
    }
    await this.submit([["upsert", pointerEntity(layout.dataverse(link.dataverseId), link), "Replace"]], `the pointer of ${what}`);
    await this.submit(linkActions, what);
  }

  private async putOnce(link: Link, callerEtag: string | undefined): Promise<Link> {
    const layout = await this.layout(link.mapping);
    const pkA = layout.app(link.appId);
    const what = `link ${link.mapping}/${link.appId}`;
    const current = await getOrNull(this.client, pkA, linkAppRowKey(link.appId), "read link");
    if (callerEtag && current?.etag !== callerEtag) throw concurrencyError(what);
    const entity = linkEntity(pkA, link);
    const write: TransactionAction = current ? ["update", entity, "Replace", { etag: current.etag }] : ["create", entity];
    const oldDataverseId = optionalString(current?.dataverseId);
    const old = oldDataverseId !== undefined && oldDataverseId !== link.dataverseId ? await this.ownedPointer(layout, oldDataverseId, link.appId) : null;
    if (layout.single) {
      const etags = await this.submit([write, ["upsert", pointerEntity(pkA, link), "Replace"], ...(old ? [["delete", { partitionKey: old.partitionKey, rowKey: old.rowKey }] as TransactionAction] : [])], what);
      return { ...link, etag: requireEtag(etags[0], "write link") };
    }
    // Buckets: the pointer first; when the link then loses its race, the pointer is put back as it was.
    const pkD = layout.dataverse(link.dataverseId);
    const mine = pointerEntity(pkD, link);
    // Conditional on what was read, so that what is put back on a lost race is what was there; a
    // pointer changed meanwhile is read again (it is not this link's race to lose).
    const { before, ours } = await retryOnConcurrency(`the pointer of ${what}`, async () => {
      const before = await getOrNull(this.client, pkD, linkDataverseRowKey(link.dataverseId), "read link pointer");
      const ours = before?.appId === link.appId ? before.etag : (await this.submit([before ? ["update", mine, "Replace", { etag: before.etag }] : ["create", mine]], `the pointer of ${what}`))[0];
      return { before, ours };
    });
    let etag: string | undefined;
    try {
      etag = (await this.submit([write], what))[0];
    } catch (e) {
      if (isConcurrency(e) && before?.appId !== link.appId && ours) await this.restorePointer(pkD, link.dataverseId, before, ours);
      throw e;
    }
    // The pointer of the Dataverse id this link named before: gone only while it still names this link.
    if (old) await deleteIfExists(this.client, old.partitionKey, old.rowKey, "delete link pointer", old.etag).catch(ignoreConcurrency);
    return { ...link, etag: requireEtag(etag, "write link") };
  }

  private async deleteOnce(link: Link, callerEtag: string | undefined): Promise<void> {
    const layout = await this.layout(link.mapping);
    const pkA = layout.app(link.appId);
    const what = `link ${link.mapping}/${link.appId}`;
    const current = await getOrNull(this.client, pkA, linkAppRowKey(link.appId), "read link");
    if (!current) {
      if (callerEtag) throw concurrencyError(what);
      return;
    }
    if (callerEtag && current.etag !== callerEtag) throw concurrencyError(what);
    const dataverseId = optionalString(current.dataverseId);
    const pointer = dataverseId === undefined ? null : await this.ownedPointer(layout, dataverseId, link.appId);
    if (callerEtag || !layout.single) {
      // A transaction's delete ignores ETags, and with buckets the two are in different partitions:
      // the link goes alone first; a pointer left behind by a crash in between is ignored on read.
      try {
        await this.client.deleteEntity(pkA, linkAppRowKey(link.appId), { etag: callerEtag ?? current.etag });
      } catch (e) {
        if (statusOf(e) === 412 || statusOf(e) === 404) throw concurrencyError(what, e);
        throw translateStorageError(e, `delete ${what}`);
      }
      if (pointer) await deleteIfExists(this.client, pointer.partitionKey, pointer.rowKey, "delete link pointer", pointer.etag).catch(ignoreConcurrency);
      return;
    }
    const actions: TransactionAction[] = [["delete", { partitionKey: pkA, rowKey: linkAppRowKey(link.appId) }]];
    if (pointer) actions.push(["delete", pointer]);
    await this.submit(actions, what);
  }

  /** The `d|` pointer for `dataverseId` when it still points at `appId` (never someone else's). */
  private async ownedPointer(layout: LinkLayout, dataverseId: string, appId: string): Promise<{ partitionKey: string; rowKey: string; etag: string } | null> {
    const partitionKey = layout.dataverse(dataverseId);
    const rowKey = linkDataverseRowKey(dataverseId);
    const row = await getOrNull(this.client, partitionKey, rowKey, "read link pointer");
    return row && row.appId === appId ? { partitionKey, rowKey, etag: row.etag } : null;
  }

  private async dropOwnedPointer(layout: LinkLayout, dataverseId: string, appId: string): Promise<void> {
    const pointer = await this.ownedPointer(layout, dataverseId, appId);
    if (pointer) await deleteIfExists(this.client, pointer.partitionKey, pointer.rowKey, "delete link pointer", pointer.etag).catch(ignoreConcurrency);
  }

  /** Puts back the pointer `before` (or none) over ours, unless someone wrote it since. */
  private async restorePointer(pk: string, dataverseId: string, before: Row | null, ours: string): Promise<void> {
    const rowKey = linkDataverseRowKey(dataverseId);
    try {
      if (before) await this.client.updateEntity({ partitionKey: pk, rowKey, appId: before.appId }, "Replace", { etag: ours });
      else await this.client.deleteEntity(pk, rowKey, { etag: ours });
    } catch (e) {
      if (statusOf(e) !== 412 && statusOf(e) !== 404) throw translateStorageError(e, "put a link pointer back");
    }
  }

  private async submit(actions: TransactionAction[], what: string): Promise<(string | undefined)[]> {
    try {
      const res = await this.client.submitTransaction(actions);
      return res.subResponses.map((r) => r.etag);
    } catch (e) {
      // 412 (changed), 404 (gone) and 409 (created meanwhile) all mean: another writer got there first.
      const status = statusOf(e);
      if (status === 412 || status === 404 || status === 409) throw concurrencyError(what, e);
      throw translateStorageError(e, `write ${what}`);
    }
  }
}

/** `items` grouped by `keyOf`, each as `valueOf(item)`, in their order. */
function groupBy<T, V>(items: readonly T[], keyOf: (item: T) => string, valueOf: (item: T) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list) list.push(valueOf(item));
    else groups.set(key, [valueOf(item)]);
  }
  return groups;
}

/** Transactions of each link's actions, grouped by partition, within the action and size limits. */
function batchesOf(links: Link[], partitionOf: (link: Link) => string, actionsOf: (pk: string, link: Link) => TransactionAction[]): Batch[] {
  const batches: Batch[] = [];
  for (const [pk, inPartition] of groupBy(links, partitionOf, (l) => l)) {
    let batch: Batch = { actions: [], links: [] };
    let chars = 0;
    for (const link of inPartition) {
      const actions = actionsOf(pk, link);
      const size = JSON.stringify(actions[0][1]).length;
      if (batch.actions.length + actions.length > MAX_ACTIONS || (batch.actions.length && chars + size > MAX_TRANSACTION_CHARS)) {
        batches.push(batch);
        batch = { actions: [], links: [] };
        chars = 0;
      }
      batch.actions.push(...actions);
      batch.links.push(link);
      chars += size;
    }
    if (batch.actions.length) batches.push(batch);
  }
  return batches;
}

/** A pointer clean-up that lost to another writer: that writer's pointer stands. */
function ignoreConcurrency(e: unknown): void {
  if (!isConcurrency(e) && statusOf(e) !== 412) throw e;
}

function linkEntity(pk: string, link: Link): Entity {
  return {
    partitionKey: pk,
    rowKey: linkAppRowKey(link.appId),
    ...defined({ appId: link.appId, dataverseId: link.dataverseId, hash: link.hash, appVersion: link.appVersion, dataverseVersion: link.dataverseVersion, lastSyncedAt: link.lastSyncedAt }),
    ...(link.pendingCreate ? { pendingCreate: true } : {}),
    ...writeJson("base", link.base, `the base of link ${link.mapping}/${link.appId}`),
  };
}

function pointerEntity(pk: string, link: Link): { partitionKey: string; rowKey: string; appId: string } {
  return { partitionKey: pk, rowKey: linkDataverseRowKey(link.dataverseId), appId: link.appId };
}

function appRowsFilter(partitionKey: string): string {
  // `a|` .. `a}`: '}' is the character after '|', so this is exactly the a| range.
  return odata`PartitionKey eq ${partitionKey} and RowKey ge ${LinkRowPrefix.app} and RowKey lt ${"a}"}`;
}

function toLink(row: Row, mapping: string): Link {
  return {
    mapping,
    appId: String(row.appId),
    dataverseId: String(row.dataverseId),
    base: readJson<Canonical>(row, "base") ?? {},
    hash: String(row.hash ?? ""),
    ...defined({ appVersion: optionalString(row.appVersion), dataverseVersion: optionalString(row.dataverseVersion) }),
    lastSyncedAt: String(row.lastSyncedAt ?? ""),
    ...(row.pendingCreate === true ? { pendingCreate: true } : {}),
    etag: row.etag,
  } as Link;
}
