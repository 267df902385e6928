import { describe, expect, it } from "vitest";
import { Slot } from "./slot";

describe("a cached slot", () => {
  it("when its first load fails, then the next load is told a load came before it, though nothing was ever stored", async () => {
    const told: boolean[] = [];
    let fail = true;
    const slot: Slot<string> = new Slot(() => {
      told.push(slot.attempted);
      return fail ? Promise.reject(new Error("the database is away")) : Promise.resolve({ value: "body", keep: true });
    });
    expect(slot.attempted).toBe(false);
    await expect(slot.get()).rejects.toThrow("the database is away");
    expect(slot.used).toBe(false);
    fail = false;
    expect(await slot.get()).toBe("body");
    expect(told).toEqual([false, true]);
    expect(slot.used).toBe(true);
  });

  it("when requests come within one epoch, then they share one load; after an invalidation, a new one", async () => {
    let loads = 0;
    const slot = new Slot(() => Promise.resolve({ value: ++loads, keep: true }));
    expect(await Promise.all([slot.get(), slot.get(), slot.get()])).toEqual([1, 1, 1]);
    slot.invalidate();
    expect(await slot.get()).toBe(2);
  });
});
