import type { WhoAmI } from "../ports.js";
import type { Services } from "../runtime/services.js";

const cache = new WeakMap<object, Promise<WhoAmI>>();

/**
 * The integration's own Dataverse identity (WhoAmI), fetched once per client and kept: the
 * organization and application user do not change while the app runs. A failed call is not kept.
 */
export function ownIdentity(s: Pick<Services, "dataverse">): Promise<WhoAmI> {
  const key = s.dataverse;
  let pending = cache.get(key);
  if (!pending) {
    pending = s.dataverse.whoAmI();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  return pending;
}
