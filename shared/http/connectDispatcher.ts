import { Agent } from "undici";
import { MAX_TIMER_MS } from "./httpBounds.js";

const agents = new Map<number, Agent>();

/**
 * The dispatcher that bounds connecting: fetch has no connect timeout of its own (its default
 * agent's is fixed at 10 s). One agent per distinct timeout, so clients share their connection pools.
 */
export function connectDispatcher(connectTimeoutMs: number): Agent {
  let agent = agents.get(connectTimeoutMs);
  if (!agent) {
    agent = new Agent({ connect: { timeout: Math.min(connectTimeoutMs, MAX_TIMER_MS) } });
    agents.set(connectTimeoutMs, agent);
  }
  return agent;
}
