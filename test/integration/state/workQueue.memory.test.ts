import { MemoryWorkQueue } from "../../../shared/state/memoryQueue.js";
import { uniqueName } from "../../support/storage.js";
import { runWorkQueueContract, type WorkItem } from "./workQueue.contract.js";

// A fixed clock: the contract never waits, so time standing still is exactly right.
runWorkQueueContract("memory", async () => new MemoryWorkQueue<WorkItem>(uniqueName("q"), { now: () => Date.UTC(2025, 0, 1) }));
