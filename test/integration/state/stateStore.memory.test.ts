import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { runStateStoreContract } from "./stateStore.contract.js";

runStateStoreContract("memory", async () => new MemoryStateStore());
