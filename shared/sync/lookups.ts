import type { FieldMapping, Mapping, SyncConfig } from "../config/mapping.js";
import { ErrorCodes, SyncError, isSyncError } from "../errors.js";
import type { DataverseClient, SyncStateStore } from "../ports.js";
import { bindUrl, ownerBindUrl } from "./values.js";

/**
 * Resolves lookup and owner references between the sides. Canonical lookup values are app-side
 * references: the app id of a record of another mapping (through the link map), or the alternate-key
 * value of a Dataverse row, or (owner) the owner's GUID. An unresolved reference fails the record.
 */
export interface LookupResolver {
  toApp(mapping: Mapping, field: FieldMapping, dataverseId: string): Promise<string>;
  toDataverseBind(mapping: Mapping, field: FieldMapping, appRef: string): Promise<string>;
  /** An answer of `toApp` already known (memoized and settled), without waiting; undefined otherwise. */
  knownToApp?(mapping: Mapping, field: FieldMapping, dataverseId: string): string | undefined;
}

export function createLookupResolver(config: SyncConfig, state: SyncStateStore, dataverse: DataverseClient): LookupResolver {
  const keyCache = new Map<string, string>();
  const targetOf = (mapping: Mapping, field: FieldMapping): Mapping | undefined => {
    const name = field.lookup?.mapping;
    return name ? config.mappings.find((m) => m.name === name) : undefined;
  };
  /** The row's key column value (cached), or undefined when the row or the value is missing. */
  const keyValue = async (entitySet: string, key: string, dataverseId: string): Promise<string | undefined> => {
    const cacheKey = `${entitySet}|${dataverseId}`;
    const cached = keyCache.get(cacheKey);
    if (cached !== undefined) return cached;
    const value = (await dataverse.retrieve(entitySet, dataverseId, [key]))?.[key];
    if (value === null || value === undefined || value === "") return undefined;
    keyCache.set(cacheKey, String(value));
    return String(value);
  };
  const unresolved = (mapping: Mapping, field: FieldMapping, what: string) =>
    new SyncError("permanent", ErrorCodes.UnresolvedLookup, `${mapping.name}.${field.app}: ${what}`, { details: { field: field.app } });

  return {
    async toApp(mapping, field, dataverseId) {
      if (field.type === "owner") return dataverseId;
      const target = targetOf(mapping, field);
      if (target) {
        const link = await state.getLinkByDataverse(target.name, dataverseId);
        if (link) return link.appId;
        // Not linked (yet, or a dry run that stored no links): a parent keyed by the app id names it itself.
        const idKey = target.dataverse.key.length === 1 && target.fields.some((f) => f.app === "id" && f.dataverse === target.dataverse.key[0]) ? target.dataverse.key[0] : undefined;
        const fromKey = idKey ? await keyValue(target.dataverse.entitySet, idKey, dataverseId) : undefined;
        if (fromKey === undefined) throw unresolved(mapping, field, `Dataverse row ${dataverseId} of ${target.dataverse.entitySet} is not linked to an app record of mapping ${target.name} yet`);
        return fromKey;
      }
      const { entitySet, key } = field.lookup ?? {};
      if (!entitySet || !key) throw unresolved(mapping, field, "lookup has neither a mapping nor an entitySet + key");
      const value = await keyValue(entitySet, key, dataverseId);
      if (value === undefined) throw unresolved(mapping, field, `${entitySet}(${dataverseId}) has no value in key column ${key}`);
      return value;
    },

    async toDataverseBind(mapping, field, appRef) {
      if (field.type === "owner") return ownerBindUrl(field.ownerType ?? "systemuser", appRef);
      const target = targetOf(mapping, field);
      if (target) {
        const link = await state.getLinkByApp(target.name, appRef);
        // A parent whose create may not have landed yet cannot be bound to.
        if (!link || link.pendingCreate) throw unresolved(mapping, field, `app record ${appRef} of mapping ${target.name} is not linked to a Dataverse row yet`);
        return bindUrl(target.dataverse.entitySet, link.dataverseId);
      }
      const { entitySet, key } = field.lookup ?? {};
      if (!entitySet || !key) throw unresolved(mapping, field, "lookup has neither a mapping nor an entitySet + key");
      return bindUrl(entitySet, { [key]: appRef });
    },
  };
}

/**
 * The same resolver, asking each distinct reference once: one write message carries up to a chunk
 * of children that mostly point at a few parents (500 mentors, 10 groups), and a Table read per
 * record was what delayed the first bulk call of a load. Scoped to one message, so a link that
 * changes later is read fresh by the next one.
 */
const MEMO_LIMIT = 10_000;

export function memoizeLookups(inner: LookupResolver): LookupResolver {
  const answers = new Map<string, Promise<string>>();
  /** Settled answers, for callers that can use them without an await (the echo check of a million rows). */
  const settled = new Map<string, string>();
  const once = (key: string, resolve: () => Promise<string>) => {
    let answer = answers.get(key);
    if (answer) return answer;
    // A run whose every record points at a different parent gains nothing from remembering: bounded.
    if (answers.size >= MEMO_LIMIT) {
      answers.clear();
      settled.clear();
    }
    answers.set(key, (answer = resolve()));
    answer.then((value) => void (answers.get(key) === answer && settled.set(key, value)), () => undefined);
    // Only answers are remembered, and permanent refusals: a transient failure (Table Storage
    // briefly unavailable) must not fail every later child of the same parent as well.
    answer.catch((e: unknown) => {
      if (!(isSyncError(e) && e.kind === "permanent") && answers.get(key) === answer) answers.delete(key);
    });
    return answer;
  };
  return {
    toApp: (mapping, field, dataverseId) => once(`a|${mapping.name}|${field.app}|${dataverseId}`, () => inner.toApp(mapping, field, dataverseId)),
    knownToApp: (mapping, field, dataverseId) => settled.get(`a|${mapping.name}|${field.app}|${dataverseId}`),
    toDataverseBind: (mapping, field, appRef) => once(`d|${mapping.name}|${field.app}|${appRef}`, () => inner.toDataverseBind(mapping, field, appRef)),
  };
}
