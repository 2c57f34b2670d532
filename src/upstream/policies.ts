// Target selection policies: weighted round robin (smooth, as nginx), least outstanding requests,
// the better of two random picks, and weighted rendezvous hashing. Pure functions of the targets,
// a `usable` predicate (health, circuit breaker, already tried) and, for hashing, a key hash.
import type { BalancingPolicy } from '../config/types.js';
import type { PoolTarget } from './target.js';

export type Usable = (target: PoolTarget) => boolean;

export interface Picker {
  /** A usable target, or undefined when none is. `keyHash`: the request's key (hash policy only). */
  pick(targets: readonly PoolTarget[], usable: Usable, keyHash: number): PoolTarget | undefined;
}

/**
 * Smooth weighted round robin: each pick adds every target's weight to its score, takes the top
 * score and subtracts the total. Exact shares over any window of `sum(weights)` picks, and the
 * heavy target's turns are spread out instead of bunched.
 */
export class RoundRobin implements Picker {
  pick(targets: readonly PoolTarget[], usable: Usable): PoolTarget | undefined {
    let best: PoolTarget | undefined;
    let total = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      if (!usable(target)) continue;
      target.current += target.weight;
      total += target.weight;
      if (best === undefined || target.current > best.current) best = target;
    }
    if (best !== undefined) best.current -= total;
    return best;
  }
}

/** Fewest requests in flight per unit of weight; ties go round robin (an idle pool still spreads). */
export class LeastOutstanding implements Picker {
  private next = 0;

  pick(targets: readonly PoolTarget[], usable: Usable): PoolTarget | undefined {
    const n = targets.length;
    const start = this.next++ % n;
    let best: PoolTarget | undefined;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const target = targets[(start + k) % n]!;
      if (!usable(target)) continue;
      const load = target.state.outstanding / target.weight;
      if (load < bestLoad) {
        best = target;
        bestLoad = load;
      }
    }
    return best;
  }
}

/**
 * Two targets drawn at random by weight, the less loaded one taken (Mitzenmacher's "power of two
 * choices"): nearly least-outstanding quality without scanning, and no herd on one idle target.
 */
export class RandomTwo implements Picker {
  private readonly cumulative: number[];
  private readonly total: number;

  constructor(targets: readonly PoolTarget[]) {
    let sum = 0;
    this.cumulative = targets.map((t) => (sum += t.weight));
    this.total = sum;
  }

  private draw(targets: readonly PoolTarget[], usable: Usable, not?: PoolTarget): PoolTarget | undefined {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = Math.random() * this.total;
      let i = 0;
      while (this.cumulative[i]! <= r) i++;
      const target = targets[i]!;
      if (target !== not && usable(target)) return target;
    }
    // Most targets unusable: scan from a random place instead of drawing forever.
    const n = targets.length;
    const start = Math.floor(Math.random() * n);
    for (let k = 0; k < n; k++) {
      const target = targets[(start + k) % n]!;
      if (target !== not && usable(target)) return target;
    }
    return undefined;
  }

  pick(targets: readonly PoolTarget[], usable: Usable): PoolTarget | undefined {
    const first = this.draw(targets, usable);
    if (first === undefined) return undefined;
    const second = this.draw(targets, usable, first);
    if (second === undefined) return first;
    return second.state.outstanding / second.weight < first.state.outstanding / first.weight ? second : first;
  }
}

/**
 * Weighted rendezvous (highest random weight) hashing: every target scores the key, the best
 * usable score wins. Removing a target moves only the keys it held (about 1/N), adding one takes
 * about 1/N; no ring to rebuild, and a down target's keys spread over all the others.
 */
export class RendezvousHash implements Picker {
  pick(targets: readonly PoolTarget[], usable: Usable, keyHash: number): PoolTarget | undefined {
    let best: PoolTarget | undefined;
    let bestScore = -Infinity;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      if (!usable(target)) continue;
      const score = rendezvousScore(keyHash, target.seed, target.weight);
      if (score > bestScore) {
        best = target;
        bestScore = score;
      }
    }
    return best;
  }
}

/** `-weight / ln(u)` with u uniform in (0, 1) from the pair's hash: a weighted HRW score. */
export function rendezvousScore(keyHash: number, seed: number, weight: number): number {
  const u = (mix32(keyHash ^ seed) + 0.5) / 4294967296;
  return -weight / Math.log(u);
}

/** FNV-1a over the UTF-16 code units of a string: fast, and good enough once mixed. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** murmur3's finaliser: spreads every input bit over the whole output. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function createPicker(policy: BalancingPolicy, targets: readonly PoolTarget[]): Picker {
  switch (policy) {
    case 'round_robin':
      return new RoundRobin();
    case 'least_outstanding':
      return new LeastOutstanding();
    case 'random_two':
      return new RandomTwo(targets);
    case 'hash':
      return new RendezvousHash();
  }
}
