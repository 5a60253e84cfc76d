import type { Logger, Telemetry, WorkQueue } from "../ports.js";
import { DEFAULT_TENANT } from "./tenantIds.js";
import { withSend } from "../state/sendView.js";

/** The header the App Sync API receives on every call made for a registered tenant. */
export const TENANT_HEADER = "X-Sync-Tenant";

/**
 * What a registered tenant's services add to the shared parts: its id on every queue message it
 * sends (the workers route by it), on its app calls (`X-Sync-Tenant`), its logs and its notices.
 * The `default` tenant adds nothing, so a single-tenant deployment is exactly what it was.
 */
export function tenantScoped(tenant: string) {
  const tagged = tenant !== DEFAULT_TENANT;
  return {
    logger(logger: Logger): Logger {
      if (!tagged) return logger;
      const withTenant = (props?: Record<string, unknown>) => ({ tenant, ...props });
      return {
        debug: (m, p) => logger.debug(m, withTenant(p)),
        info: (m, p) => logger.info(m, withTenant(p)),
        warn: (m, p) => logger.warn(m, withTenant(p)),
        error: (m, p) => logger.error(m, withTenant(p)),
      };
    },
    /** Telemetry whose events and metrics carry `tenant` (alerts and dashboards can split by it). */
    telemetry(telemetry: Telemetry): Telemetry {
      if (!tagged) return telemetry;
      return {
        event: (name, properties) => telemetry.event(name, { tenant, ...properties }),
        metric: (name, value, properties) => telemetry.metric(name, value, { tenant, ...properties }),
      };
    },
    /** Headers for a registered tenant's app calls (X-Sync-Tenant); none for the default tenant. */
    appHeaders(): Record<string, string> {
      return tagged ? { [TENANT_HEADER]: tenant } : {};
    },
    /** The queue as is, with `tenant` added to every message sent (every other member passes through). */
    queue<T>(queue: WorkQueue<T>): WorkQueue<T> {
      if (!tagged) return queue;
      const send: WorkQueue<T>["send"] = (message, options) => queue.send({ ...(message as object), tenant } as T, options);
      return withSend(queue, send);
    },
    notifierOptions(): { tenant?: string } {
      return tagged ? { tenant } : {};
    },
  };
}
