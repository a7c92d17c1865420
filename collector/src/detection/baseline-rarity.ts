/**
 * How rare a value is in one of a series' rarity channels: a Gaussian tail under the channel's running mean and
 * variance, raised by the share of an exponentially forgotten histogram (steps 3 and 4 of baseline.ts).
 */

export const HIST_BINS = 64;
// A rarity channel: [weight of the next sample (lazy decay), history mean, history variance, sum of the bins, HIST_BINS bins].
export const CH_W = 0;
export const CH_MEAN = 1;
export const CH_VAR = 2;
export const CH_TOTAL = 3; // sum of the bins
export const CH_BINS = 4;
export const CH_LEN = CH_BINS + HIST_BINS;

import type { BaselineParams } from './baseline-params.js';

/**
 * How rare `v` is in channel `c`'s history, in [0, 1]: the Gaussian tail probability under the history's running mean
 * and variance, on a log scale (1 = one in 10^tailDigits) — raised, when the series has reached this level now and
 * then lately, to the (weighted) share of past values at or above it: a level the series reaches every day is not
 * news however improbable a Gaussian calls it. The history learns from capped values so one event does not blind it.
 */
export function rarity(
  s: Float64Array,
  c: number,
  v: number,
  n: number,
  p: Readonly<BaselineParams>,
  reachedBins = 0,
  learnAs: number | null = v,
): number {
  const hm = s[c + CH_MEAN]!;
  const hv = s[c + CH_VAR]!;
  const sd = Math.max(Math.sqrt(hv), p.minSpread);
  let score = 0;
  if (n >= p.warmup) {
    const q = (v - hm) / sd;
    if (q > 0) {
      // On a log scale throughout: one logarithm per sample and no exponential on the hot path.
      let lnTail = lnUpperTail(q);
      if (p.empiricalAlpha > 0 && lnTail < LN_1E_3) {
        const share = p.empiricalWeight * empiricalTail(s, c, v, reachedBins);
        if (share > 0) lnTail = Math.max(lnTail, Math.log(share));
      }
      score = Math.min(1, Math.max(0, -lnTail / Math.LN10 / p.tailDigits));
    }
    if (p.empiricalAlpha > 0 && learnAs !== null) learnEmpirical(s, c, learnAs, p.empiricalAlpha);
  }
  const a = Math.max(1 / (n + 1), p.historyAlpha);
  const d = Math.min(v, hm + p.historyCap * sd) - hm;
  s[c + CH_MEAN] = hm + a * d;
  s[c + CH_VAR] = (1 - a) * (hv + a * d * d);
  return score;
}

// The share of past values (exponentially forgotten) at or above this one's bin less `reachedBins`; 0 when none
// ever reached it.
function empiricalTail(s: Float64Array, c: number, v: number, reachedBins: number): number {
  const b = Math.max(0, Math.min(HIST_BINS - 1, Math.floor(v * HIST_BINS)) - reachedBins);
  const all = s[c + CH_TOTAL]!;
  let ge = 0;
  for (let i = b; i < HIST_BINS; i++) ge += s[c + CH_BINS + i]!;
  return all > 0 ? Math.min(1, ge / all) : 0;
}

// Lazy exponential forgetting: each new value weighs 1/(1-alpha) more than the previous; rescaled before overflow.
function learnEmpirical(s: Float64Array, c: number, v: number, alpha: number): void {
  const b = Math.min(HIST_BINS - 1, Math.max(0, Math.floor(v * HIST_BINS)));
  let w = s[c + CH_W]!;
  s[c + CH_BINS + b] = s[c + CH_BINS + b]! + w;
  s[c + CH_TOTAL] = s[c + CH_TOTAL]! + w;
  w /= 1 - alpha;
  if (w > 1e200) {
    for (let i = 0; i < HIST_BINS; i++) s[c + CH_BINS + i] = s[c + CH_BINS + i]! / w;
    s[c + CH_TOTAL] = s[c + CH_TOTAL]! / w;
    w = 1;
  }
  s[c + CH_W] = w;
}

const LN_1E_3 = Math.log(1e-3);

// ln of the standard normal upper tail P(Z > q) = erfc(q/√2)/2 for q > 0, by Abramowitz–Stegun 7.1.26 (error of
// erfc < 1.5e-7), kept in the log domain so no exponential is needed and no tail underflows to 0.
function lnUpperTail(q: number): number {
  const x = q / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.log(0.5 * y) - x * x;
}
