import { beforeEach, describe, expect, it } from "vitest";
import type { PayloadStore } from "../../../shared/ports.js";
import { MAX_PAYLOAD_CHARS, PART_CHARS } from "../../../shared/state/payloadParts.js";

/** One behaviour suite for the out-of-band payloads of every state store adapter. */
export function runPayloadStoreContract(name: string, factory: () => Promise<PayloadStore>): void {
  describe(`${name} payload store`, () => {
    let store: PayloadStore;
    beforeEach(async () => {
      store = await factory();
    });

    it("returns null for a payload never written", async () => {
      expect(await store.getPayload("never-written")).toBeNull();
    });

    it("keeps a small payload and returns it exactly, non-ASCII text included", async () => {
      const text = JSON.stringify([{ kind: "create", values: { name: "Åse Ødegård 漢字 🙂" } }]);

      await store.putPayload("p-small", text);

      expect(await store.getPayload("p-small")).toBe(text);
    });

    it("keeps a payload longer than one entity holds over several parts, without splitting a surrogate pair", async () => {
      // An emoji straddles the first part boundary; the whole is over three parts long.
      const text = "a".repeat(PART_CHARS - 1) + "🙂" + "bcdefghij".repeat(Math.ceil((2 * PART_CHARS + 1000) / 9));

      await store.putPayload("p-large", text);

      expect(await store.getPayload("p-large")).toBe(text);
    });

    it("replaces a payload written again under the same id", async () => {
      await store.putPayload("p-again", "x".repeat(PART_CHARS + 10));
      await store.putPayload("p-again", "short");

      expect(await store.getPayload("p-again")).toBe("short");
    });

    it("deletes a payload, and tolerates deleting it again", async () => {
      await store.putPayload("p-gone", "y".repeat(PART_CHARS + 10));
      await store.putPayload("p-kept", "kept");

      await store.deletePayload("p-gone");
      await store.deletePayload("p-gone");
      await store.deletePayload("never-written");

      expect(await store.getPayload("p-gone")).toBeNull();
      expect(await store.getPayload("p-kept")).toBe("kept");
    });

    it("refuses a payload over the cap with PAYLOAD_TOO_LARGE naming it", async () => {
      await expect(store.putPayload("p-huge", "z".repeat(MAX_PAYLOAD_CHARS + 1))).rejects.toMatchObject({
        kind: "validation", code: "PAYLOAD_TOO_LARGE", message: expect.stringContaining("payload p-huge"),
      });
      expect(await store.getPayload("p-huge")).toBeNull();
    });
  });
}
