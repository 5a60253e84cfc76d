import { MemoryStateStore } from "../../../shared/state/memoryStateStore.js";
import { runPayloadStoreContract } from "./payloadStore.contract.js";

runPayloadStoreContract("memory", async () => new MemoryStateStore().payloads);
