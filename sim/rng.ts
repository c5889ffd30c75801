/**
 * Seeded pseudo-random numbers (mulberry32): every random thing in the simulator comes from
 * one of these, so the same seed gives the same run, byte for byte.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Approximately normal, mean 0, standard deviation 1 (sum of uniforms: cheap and bounded). */
  gaussian(): number {
    return this.next() + this.next() + this.next() + this.next() - 2;
  }
}
