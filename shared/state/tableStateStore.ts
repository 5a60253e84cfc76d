import type { TokenCredential } from "@azure/identity";
import type { SyncStateStore } from "../ports.js";
import { Tables } from "../names.js";
import { TableConflicts } from "./tableConflicts.js";
import { TableCursors } from "./tableCursors.js";
import { TableDeadLetters } from "./tableDeadLetters.js";
import { TableHealth } from "./tableHealth.js";
import { TableLinks } from "./tableLinks.js";
import { TablePayloads } from "./tablePayloads.js";
import { TableRuns } from "./tableRuns.js";
import { assertTablePrefix, tableClientFactory } from "./tableClients.js";
import { translateStorageError } from "./tableErrors.js";

export interface TableStateStoreOptions {
  connectionString?: string;
  accountUrl?: string;
  credential?: TokenCredential;
  /** Prepended to every table name in shared/names.ts (tests isolate themselves with it). */
  tablePrefix?: string;
  allowInsecureConnection?: boolean;
}

export type TableStateStore = SyncStateStore & {
  /** Creates the tables when missing (idempotent); Bicep provisions them in Azure. */
  ensureTables(): Promise<void>;
};

/** The SyncStateStore on Azure Table Storage (or Azurite). Each concern lives in its own table. */
export async function createTableStateStore(options: TableStateStoreOptions): Promise<TableStateStore> {
  const prefix = options.tablePrefix ?? "";
  assertTablePrefix(prefix);
  const clientFor = tableClientFactory(options);
  const clients = {
    cursors: clientFor(prefix + Tables.cursors),
    links: clientFor(prefix + Tables.links),
    runs: clientFor(prefix + Tables.runs),
    health: clientFor(prefix + Tables.health),
    deadLetters: clientFor(prefix + Tables.deadLetters),
    conflicts: clientFor(prefix + Tables.conflicts),
    payloads: clientFor(prefix + Tables.payloads),
  };
  const cursors = new TableCursors(clients.cursors);
  const links = new TableLinks(clients.links);
  const runs = new TableRuns(clients.runs);
  const health = new TableHealth(clients.health);
  const deadLetters = new TableDeadLetters(clients.deadLetters);
  const conflicts = new TableConflicts(clients.conflicts);
  const payloads = new TablePayloads(clients.payloads);

  return {
    async ensureTables() {
      try {
        // createTable ignores "already exists", so this is safe on every start.
        await Promise.all(Object.values(clients).map((c) => c.createTable()));
      } catch (e) {
        throw translateStorageError(e, "create state tables");
      }
    },
    getCursor: (mapping, side) => cursors.get(mapping, side),
    putCursor: (cursor) => cursors.put(cursor),
    deleteCursor: (mapping, side) => cursors.delete(mapping, side),

    getLinkByApp: (mapping, appId) => links.getByApp(mapping, appId),
    getLinkByDataverse: (mapping, dataverseId) => links.getByDataverse(mapping, dataverseId),
    getLinksByApp: (mapping, appIds) => links.getManyByApp(mapping, appIds),
    getLinksByDataverse: (mapping, dataverseIds) => links.getManyByDataverse(mapping, dataverseIds),
    putLink: (link) => links.put(link),
    putLinks: (many) => links.putMany(many),
    deleteLink: (link) => links.delete(link),
    listLinks: (mapping) => links.list(mapping),
    listLinkDigests: (mapping) => links.digests(mapping),
    countLinks: (mapping) => links.count(mapping),

    createRun: (run) => runs.create(run),
    getRun: (runId) => runs.get(runId),
    updateRun: (runId, mutate) => runs.update(runId, mutate),
    listRuns: (opts) => runs.list(opts),

    getHealth: (mapping, direction) => health.get(mapping, direction),
    updateHealth: (mapping, direction, mutate) => health.update(mapping, direction, mutate),

    putDeadLetter: (dl) => deadLetters.put(dl),
    getDeadLetter: (id) => deadLetters.get(id),
    listDeadLetters: (opts) => deadLetters.list(opts),
    deleteDeadLetter: (id) => deadLetters.delete(id),
    countDeadLetters: (mapping) => deadLetters.count(mapping),

    putConflict: (conflict) => conflicts.put(conflict),
    listConflicts: (opts) => conflicts.list(opts),

    payloads,
  };
}
