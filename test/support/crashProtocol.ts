/**
 * What the crash test (test/integration/sync/crashKill.test.ts) and its sync process
 * (test/support/crashChild.ts) agree on. Apart from the child so that importing it runs nothing.
 */
export interface CrashChildOptions {
  tablePrefix: string;
  queuePrefix: string;
  /** How long a received message stays hidden: after a kill, its messages come back after this. */
  leaseMs: number;
  /** Messages in flight per queue (the host's batch size by default). */
  width?: number;
  /** How often the queues are polled for delayed messages once the pump is idle. */
  pollMs?: number;
  /** Exit 4 when every queue is empty but a watched run has not finished for this long. */
  stallMs?: number;
  /** Exit 5 after this long, whatever the state (a hung child must not hang the test). */
  maxMs?: number;
  /**
   * "timer" (default): as the scheduled tick, skip a mapping whose latest run is still active and wait
   * for that run instead. "manual": as an operator's manual sync, start a run of every mapping (the
   * remedy when an active run can no longer finish) and wait only for those.
   */
  trigger?: "timer" | "manual";
  /**
   * Plan complete reads the large-mapping way even on the test's small tables: rows kept compact and
   * links held as digests (compactReads.above and wholeLinks.upTo set to 0). The test alternates it
   * between the processes it kills, so both ways of planning are killed and take over each other's runs.
   */
  largeMappingPlans?: boolean;
}

/** Exit codes the test tells apart. */
export const CrashChildExit = { settled: 0, failed: 1, stalled: 4, timedOut: 5 } as const;
