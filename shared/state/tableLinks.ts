import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import type { Canonical, Link, LinkDigest } from "../ports.js";
import { encodeKey, LinkRowPrefix, linkAppRowKey, linkDataverseRowKey } from "./keys.js";
import { readJson, writeJson } from "./jsonColumn.js";
import { retryOnConcurrency } from "./casRetry.js";
import { concurrencyError, isConcurrency, statusOf, translateStorageError } from "./tableErrors.js";
import { defined, deleteIfExists, getMany, getOrNull, optionalString, requireEtag, wrap, type Row } from "./tableSupport.js";

/**
 * Links: two index entities per link in the mapping's partition, written in one transaction:
 * `a|<appId>` holds the link, `d|<dataverseId>` points back to the app id. A link's ETag is the
 * ETag of its `a|` entity. Without a caller ETag, writes re-read and retry on a lost race, so a
 * concurrent writer can never leave a pointer to a link that no longer owns it.
 */
/** A Table transaction holds at most 100 operations and 4 MiB; we stay below both. */
const MAX_ACTIONS = 100;
const MAX_TRANSACTION_CHARS = 1_500_000;
const TRANSACTION_CONCURRENCY = 4;

export class TableLinks {
  constructor(private readonly client: TableClient) {}

  async getByApp(mapping: string, appId: string): Promise<Link | null> {
    const row = await getOrNull(this.client, encodeKey(mapping), linkAppRowKey(appId), "read link");
    return row ? toLink(row, mapping) : null;
  }

  async getByDataverse(mapping: string, dataverseId: string): Promise<Link | null> {
    const pointer = await getOrNull(this.client, encodeKey(mapping), linkDataverseRowKey(dataverseId), "read link pointer");
    const appId = optionalString(pointer?.appId);
    if (appId === undefined) return null;
    const link = await this.getByApp(mapping, appId);
    // The pointer may outlive a re-pointed link for an instant; the link itself is the truth.
    return link && link.dataverseId === dataverseId ? link : null;
  }

  /** The links of many app ids, a few queries in all (SyncStateStore.getLinksByApp). */
  async getManyByApp(mapping: string, appIds: readonly string[]): Promise<Map<string, Link>> {
    const rows = await getMany(this.client, encodeKey(mapping), appIds.map(linkAppRowKey), "read links");
    return new Map(rows.map((row) => toLink(row, mapping)).map((link) => [link.appId, link]));
  }

  /** The links of many Dataverse ids: their pointers in a few queries, then the links they name. */
  async getManyByDataverse(mapping: string, dataverseIds: readonly string[]): Promise<Map<string, Link>> {
    const pointers = await getMany(this.client, encodeKey(mapping), dataverseIds.map(linkDataverseRowKey), "read link pointers");
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
   * Upserts in transactions of up to 50 links (two entities each) per partition: one round trip per
   * 50 links instead of a read and a write per link. A claim (Link.claim) goes in as a create of its
   * `a|` entity: when one exists, the transaction fails as a whole, and its links are written one by
   * one (claimOnce decides each claim). Returns the refused claims.
   */
  async putMany(links: Link[]): Promise<Link[]> {
    const byPartition = new Map<string, Map<string, Link>>();
    for (const link of links) {
      const pk = encodeKey(link.mapping);
      const inPartition = byPartition.get(pk) ?? new Map<string, Link>();
      inPartition.set(link.appId, link); // a link written twice: the last one wins, as with single puts
      byPartition.set(pk, inPartition);
    }
    const batches: { actions: TransactionAction[]; links: Link[] }[] = [];
    for (const [pk, inPartition] of byPartition) {
      let batch: { actions: TransactionAction[]; links: Link[] } = { actions: [], links: [] };
      let chars = 0;
      const pointers = new Set<string>();
      for (const link of inPartition.values()) {
        const entity = linkEntity(pk, link);
        const size = JSON.stringify(entity).length;
        const { actions } = batch;
        if (actions.length + 2 > MAX_ACTIONS || (actions.length && chars + size > MAX_TRANSACTION_CHARS)) {
          batches.push(batch);
          batch = { actions: [], links: [] };
          chars = 0;
          pointers.clear();
        }
        batch.actions.push(link.claim ? ["create", entity] : ["upsert", entity, "Replace"]);
        batch.links.push(link);
        chars += size;
        // Two links claiming one Dataverse id in a transaction would be a duplicate entity: first one wins the slot.
        if (!pointers.has(link.dataverseId)) {
          pointers.add(link.dataverseId);
          batch.actions.push(["upsert", pointerEntity(pk, link), "Replace"]);
        }
      }
      if (batch.actions.length) batches.push(batch);
    }
    const refused: Link[] = [];
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        try {
          await this.submit(batch.actions, "a batch of links");
        } catch (e) {
          if (!isConcurrency(e) || !batch.links.some((l) => l.claim)) throw e;
          for (const link of batch.links) {
            if (!link.claim) await this.submit([["upsert", linkEntity(encodeKey(link.mapping), link), "Replace"], ["upsert", pointerEntity(encodeKey(link.mapping), link), "Replace"]], `link ${link.mapping}/${link.appId}`);
            else if (!(await retryOnConcurrency(`link ${link.mapping}/${link.appId}`, () => this.claimOnce(link)))) refused.push(link);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(TRANSACTION_CONCURRENCY, batches.length) }, worker));
    return refused;
  }

  /** One claim: written when the app id has no link, an intent, or a link to the same row; false when refused. */
  private async claimOnce(link: Link): Promise<boolean> {
    const pk = encodeKey(link.mapping);
    const current = await getOrNull(this.client, pk, linkAppRowKey(link.appId), "read link");
    if (current && current.pendingCreate !== true && optionalString(current.dataverseId) !== link.dataverseId) return false;
    const entity = linkEntity(pk, link);
    await this.submit([current ? ["update", entity, "Replace", { etag: current.etag }] : ["create", entity], ["upsert", pointerEntity(pk, link), "Replace"]], `link ${link.mapping}/${link.appId}`);
    return true;
  }

  async delete(link: Link): Promise<void> {
    if (link.etag) return this.deleteOnce(link, link.etag);
    return retryOnConcurrency(`link ${link.mapping}/${link.appId}`, () => this.deleteOnce(link, undefined));
  }

  async *digests(mapping: string): AsyncIterable<LinkDigest> {
    const select = ["appId", "dataverseId", "hash", "pendingCreate"];
    const rows = this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: appRowsFilter(mapping), select } });
    try {
      for await (const row of rows) {
        yield { appId: String(row.appId), dataverseId: String(row.dataverseId), hash: String(row.hash ?? ""), ...(row.pendingCreate === true ? { pendingCreate: true } : {}) };
      }
    } catch (e) {
      throw translateStorageError(e, "list links");
    }
  }

  async *list(mapping: string): AsyncIterable<Link> {
    const rows = this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: appRowsFilter(mapping) } });
    try {
      for await (const row of rows) yield toLink(row, mapping);
    } catch (e) {
      throw translateStorageError(e, "list links");
    }
  }

  async count(mapping: string): Promise<number> {
    return wrap("count links", async () => {
      let n = 0;
      const rows = this.client.listEntities({ queryOptions: { filter: appRowsFilter(mapping), select: ["RowKey"] } });
      for await (const page of rows.byPage({ maxPageSize: 1000 })) n += page.length;
      return n;
    });
  }

  private async putOnce(link: Link, callerEtag: string | undefined): Promise<Link> {
    const pk = encodeKey(link.mapping);
    const what = `link ${link.mapping}/${link.appId}`;
    const current = await getOrNull(this.client, pk, linkAppRowKey(link.appId), "read link");
    if (callerEtag && current?.etag !== callerEtag) throw concurrencyError(what);
    const entity = linkEntity(pk, link);
    const actions: TransactionAction[] = [
      current ? ["update", entity, "Replace", { etag: current.etag }] : ["create", entity],
      ["upsert", pointerEntity(pk, link), "Replace"],
    ];
    const oldDataverseId = optionalString(current?.dataverseId);
    if (oldDataverseId !== undefined && oldDataverseId !== link.dataverseId) {
      const old = await this.ownedPointer(pk, oldDataverseId, link.appId);
      if (old) actions.push(["delete", old]);
    }
    const etags = await this.submit(actions, what);
    return { ...link, etag: requireEtag(etags[0], "write link") };
  }

  private async deleteOnce(link: Link, callerEtag: string | undefined): Promise<void> {
    const pk = encodeKey(link.mapping);
    const what = `link ${link.mapping}/${link.appId}`;
    const current = await getOrNull(this.client, pk, linkAppRowKey(link.appId), "read link");
    if (!current) {
      if (callerEtag) throw concurrencyError(what);
      return;
    }
    if (callerEtag && current.etag !== callerEtag) throw concurrencyError(what);
    const dataverseId = optionalString(current.dataverseId);
    const pointer = dataverseId === undefined ? null : await this.ownedPointer(pk, dataverseId, link.appId);
    if (callerEtag) {
      // A transaction's delete ignores ETags, so a conditional delete goes alone first; a pointer
      // left behind by a crash in between is ignored on read (the link is the truth).
      try {
        await this.client.deleteEntity(pk, linkAppRowKey(link.appId), { etag: callerEtag });
      } catch (e) {
        if (statusOf(e) === 412 || statusOf(e) === 404) throw concurrencyError(what, e);
        throw translateStorageError(e, `delete ${what}`);
      }
      if (pointer) await deleteIfExists(this.client, pk, pointer.rowKey, "delete link pointer");
      return;
    }
    const actions: TransactionAction[] = [["delete", { partitionKey: pk, rowKey: linkAppRowKey(link.appId) }]];
    if (pointer) actions.push(["delete", pointer]);
    await this.submit(actions, what);
  }

  /** The `d|` pointer for `dataverseId` when it still points at `appId` (never someone else's). */
  private async ownedPointer(pk: string, dataverseId: string, appId: string): Promise<{ partitionKey: string; rowKey: string } | null> {
    const rowKey = linkDataverseRowKey(dataverseId);
    const row = await getOrNull(this.client, pk, rowKey, "read link pointer");
    return row && row.appId === appId ? { partitionKey: pk, rowKey } : null;
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

function linkEntity(pk: string, link: Link): Record<string, unknown> & { partitionKey: string; rowKey: string } {
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

function appRowsFilter(mapping: string): string {
  // `a|` .. `a}`: '}' is the character after '|', so this is exactly the a| range.
  return odata`PartitionKey eq ${encodeKey(mapping)} and RowKey ge ${LinkRowPrefix.app} and RowKey lt ${"a}"}`;
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
