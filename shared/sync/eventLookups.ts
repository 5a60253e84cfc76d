import type { FieldMapping } from "../config/mapping.js";
import type { DataverseRow, Link, SyncStateStore } from "../ports.js";
import type { CompiledMapping } from "./compiledMapping.js";
import type { LookupResolver } from "./lookups.js";
import { lookupReadProperty } from "./odataBind.js";

/**
 * A batch of record events resolves its rows' lookups to parents of other mappings up front: the
 * parents' links, for every row read, in a few Table queries (SyncStateStore.getLinksByDataverse)
 * instead of a pointer and a link read per distinct parent. A parent without a link goes on to
 * `inner`, which names it by its key or refuses it, as before.
 */
export async function withParentLinks(state: SyncStateStore, m: CompiledMapping, rows: Iterable<DataverseRow | null>, inner: LookupResolver): Promise<LookupResolver> {
  const targetOf = (f: FieldMapping) => (f.type === "lookup" ? f.lookup?.mapping : undefined);
  const fields = m.fields.filter((f) => targetOf(f) !== undefined);
  if (!fields.length) return inner;
  const wanted = new Map<string, Set<string>>();
  for (const row of rows) {
    for (const f of row ? fields : []) {
      const id = row![lookupReadProperty(f)];
      if (id === null || id === undefined || id === "") continue;
      const ids = wanted.get(targetOf(f)!) ?? new Set<string>();
      wanted.set(targetOf(f)!, ids.add(String(id)));
    }
  }
  const known = new Map<string, Map<string, Link>>();
  for (const [target, ids] of wanted) known.set(target, await state.getLinksByDataverse(target, [...ids]));
  const linkOf = (f: FieldMapping, dataverseId: string) => known.get(targetOf(f) ?? "")?.get(dataverseId);
  return {
    toApp: (mapping, field, dataverseId) => {
      const link = linkOf(field, dataverseId);
      return link ? Promise.resolve(link.appId) : inner.toApp(mapping, field, dataverseId);
    },
    knownToApp: (mapping, field, dataverseId) => linkOf(field, dataverseId)?.appId ?? inner.knownToApp?.(mapping, field, dataverseId),
    toDataverseBind: (mapping, field, appRef) => inner.toDataverseBind(mapping, field, appRef),
  };
}
