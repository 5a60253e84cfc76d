/**
 * Adaptive bulk chunk size: halves when a chunk runs into a (SQL) timeout or is too large, down to
 * `min`, and doubles back after a few chunks in a row succeed, up to the configured size.
 */
export class BulkSizer {
  private current: number;
  private streak = 0;

  constructor(readonly max = 100, readonly min = 10, private readonly growAfter = 3) {
    this.max = Math.max(1, Math.min(max, 1_000));
    this.min = Math.min(this.max, Math.max(1, min));
    this.current = this.max;
  }

  get size(): number {
    return this.current;
  }

  shrink(): void {
    this.current = Math.max(this.min, Math.floor(this.current / 2));
    this.streak = 0;
  }

  succeeded(): void {
    if (++this.streak < this.growAfter) return;
    this.streak = 0;
    this.current = Math.min(this.max, this.current * 2);
  }
}
