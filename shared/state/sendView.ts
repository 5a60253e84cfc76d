/**
 * `queue` with its `send` replaced by `send`; every other member (receive, complete, poison,
 * ensure…) is the queue's own, bound to it. Used by the views that change what a send carries
 * (a tenant's tag, a group of notices).
 */
export function withSend<Q extends object, S>(queue: Q, send: S): Q {
  return new Proxy(queue, {
    get(target, prop) {
      if (prop === "send") return send;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
