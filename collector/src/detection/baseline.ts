/**
 * The adaptive baseline: a streaming, per-series detector that needs no configuration (docs/0003-detection.md).
 *
 * Per sample, in O(1) time and fixed memory:
 * 1. Three forecasters predict the value: a fast level (what it was a moment ago), a slow level plus a time-of-day
 *    profile (daily pattern) and a slow level plus an hour-of-week profile (weekly pattern). Each keeps its own
 *    running mean absolute error; the one that has been most accurate lately is trusted.
 * 2. The surprise is the distance from the trusted forecast in units of its typical error. Updates are winsorised
 *    (a surprise is clipped before it moves the baseline), so outliers do not drag what "normal" means.
 * 3. The surprise is compared with the history of surprises of this very series (a running mean and variance of a
 *    short average of surprises): a Gaussian tail probability, like an "anomaly likelihood". A noisy series is
 *    judged against its own noise, a calm one against its calm. Bursty series have heavier tails than a Gaussian:
 *    an exponentially forgotten histogram of the same averages raises the tail probability to (a twentieth of) the
 *    share of recent averages at least this high, so a level of surprise the series reaches every day or so is not
 *    an alarm, while one it has not reached lately still is (NAB: false-positive rows 221 → 131).
 * 4. A level shift too small for step 3 (the fast level absorbs a small step within a few samples) builds up in a
 *    signed average of the distance from the long-run level; its rarity is judged the same way (its histogram
 *    learns a rising shift only once it stops rising, at its peak). Where the shift began is Page's CUSUM estimate.
 * 5. The score in [0, 1] is the larger tail probability on a log scale: 0.5 is one in 10^5, 1 is one in 10^10.
 *    After an alarm the series is in a refractory state, so one fault gives one alarm, not a hundred; the state ends
 *    early once the score is back below half the alarm level and the value is back near its level (that fault is
 *    over, the next one is news).
 * 6. A value beyond the whole range seen so far (by 5 % of it) that is also off the forecast scores at least the alarm
 *    level: a new extreme is news even on a series too noisy for step 3 to flag it.
 *
 * State is a flat Float64Array so it checkpoints as one blob and the hot path allocates nothing.
 */

import type { BaselineParams } from './baseline-params.js';
import { CH_LEN, CH_W, rarity } from './baseline-rarity.js';

export { type BaselineParams, DEFAULT_BASELINE } from './baseline-params.js';

// Hot-path indices are this module's own constants: V8 folds them, not imported bindings (8x slower when imported).
const DAY_BUCKETS = 48; // 30 min
const WEEK_BUCKETS = 168; // 1 h
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

// Layout of the state vector.
const N = 0; // samples seen
const FAST = 1;
const SLOW = 2;
const ERR_FAST = 3;
const ERR_DAY = 4;
const ERR_WEEK = 5;
const ABS = 6; // running mean of |x| (scale floor)
const SHORT = 7; // short average of surprise
// 8, 9, 11: unused (the surprise history lives in the rarity channel at CH_AVG)
const REFRACT = 10; // samples left in refractory
const LAST_TS = 12;
const ABNORMAL_SINCE = 13; // first sample of the current abnormal run (epoch ms), NaN when normal
const LAST_SCORE = 14;
const LAST_EXPECTED = 15;
const LAST_DEV = 16;
const MINV = 17;
const MAXV = 18;
const DAY0 = 19;
const DAYN = DAY0 + DAY_BUCKETS; // visit counts
const WEEK0 = DAYN + DAY_BUCKETS;
const WEEKN = WEEK0 + WEEK_BUCKETS;
const CH_AVG = WEEKN + WEEK_BUCKETS; // the short average of surprises
const SHIFT = 8; // the level-shift average
const CUSUM_UP = 9; // Page's CUSUM of the distance from the level, upwards …
const CUSUM_DOWN = 11; // … and downwards
const CH_SHIFT = CH_AVG + CH_LEN; // the level-shift average's rarity channel
const SHIFT_UP_SINCE = CH_SHIFT + CH_LEN; // first sample of the current upward CUSUM run (NaN when at zero)
const SHIFT_DOWN_SINCE = SHIFT_UP_SINCE + 1;
const LAST_SHIFT = SHIFT_DOWN_SINCE + 1; // 1 when the last score came from the level-shift channel
const LAST_LEVEL = LAST_SHIFT + 1;
const LAST_LEVEL_DEV = LAST_LEVEL + 1;
/** Length of a baseline state vector. */
export const BASELINE_STATE_LENGTH = LAST_LEVEL_DEV + 1;

/** A fresh state vector. */
export function newBaselineState(): Float64Array {
  const s = new Float64Array(BASELINE_STATE_LENGTH);
  s[ABNORMAL_SINCE] = Number.NaN;
  s[LAST_TS] = Number.NaN;
  s[ERR_DAY] = Number.POSITIVE_INFINITY;
  s[ERR_WEEK] = Number.POSITIVE_INFINITY;
  s[CH_AVG + CH_W] = 1;
  s[CH_SHIFT + CH_W] = 1;
  s[SHIFT_UP_SINCE] = Number.NaN;
  s[SHIFT_DOWN_SINCE] = Number.NaN;
  return s;
}

/** What one sample did to a series, beyond its score. */
export interface BaselineView {
  score: number;
  /** The value the baseline expected. */
  expected: number;
  /** Distance from the expected value in typical errors (signed). */
  deviation: number;
  /** Time of the first sample of the current abnormal run, or NaN. */
  abnormalSince: number;
  /**
   * The score came from a sustained level shift: then `expected` is the level the series left, `deviation` the
   * distance from it, and `abnormalSince` where the shift began (Page's CUSUM change-point estimate).
   */
  shift: boolean;
  /** The long-run level (slow level, or the trusted seasonal forecast) and the distance from it in typical errors. */
  level: number;
  levelDeviation: number;
  /** The distance from the trusted forecast in typical errors, whatever drove the score. */
  forecastDeviation: number;
  /** The CUSUMs of the distance from the level, upwards and downwards: 0 when no shift that way is building. */
  cusumUp: number;
  cusumDown: number;
}

/**
 * Feeds one sample and returns its anomaly score in [0, 1]. `ts` is epoch ms (used for the seasonal buckets and the
 * abnormal-run start). Non-finite values score 0 and change nothing. The steps are those of the header, in order.
 */
export function baselineStep(s: Float64Array, ts: number, x: number, p: Readonly<BaselineParams>): number {
  if (!Number.isFinite(x)) return 0;
  const n = s[N]!;
  if (n === 0) {
    firstSample(s, ts, x);
    return 0;
  }
  const tsOk = Number.isFinite(ts);
  const dayB = tsOk ? DAY0 + Math.floor((((ts % DAY_MS) + DAY_MS) % DAY_MS) / (DAY_MS / DAY_BUCKETS)) : -1;
  const weekB = tsOk ? WEEK0 + Math.floor((((ts % WEEK_MS) + WEEK_MS) % WEEK_MS) / (WEEK_MS / WEEK_BUCKETS)) : -1;
  forecast(s, dayB, weekB);
  const pred = F[F_PRED]!;
  const err = F[F_ERR]!;
  const dev = (x - pred) / err;
  const z = Math.min(Math.abs(dev), p.maxSurprise) / p.maxSurprise;
  learnForecasts(s, x, n, dayB, weekB, p);

  // Compare the short average of surprises with this series' own history of it.
  let score = surpriseScore(s, z, n, p);

  // A level shift: the fast level absorbs a small step within a few samples, the slow one (or the seasonal forecast
  // riding on it) does not, so a sustained step builds up a signed average of the distance from it.
  const level = pred === F[F_FAST]! ? F[F_SLOW]! : pred;
  const levelDev = (x - level) / err;
  let shifted = false;
  if (p.shiftAlpha > 0) {
    const shiftScore = levelShiftScore(s, ts, levelDev, n, p);
    shifted = shiftScore > score;
    score = Math.max(score, shiftScore);
  }
  score = refractory(s, newExtreme(s, x, dev, n, score, p), levelDev, p);
  followAbnormalRun(s, ts, dev);

  s[N] = n + 1;
  s[LAST_TS] = ts;
  s[LAST_SCORE] = score;
  s[LAST_EXPECTED] = pred;
  s[LAST_DEV] = dev;
  s[LAST_SHIFT] = shifted ? 1 : 0;
  s[LAST_LEVEL] = level;
  s[LAST_LEVEL_DEV] = levelDev;
  return score;
}

/** The first sample of a series: every level starts at it, and it scores 0. */
function firstSample(s: Float64Array, ts: number, x: number): void {
  s[FAST] = x;
  s[SLOW] = x;
  s[ABS] = Math.abs(x);
  s[N] = 1;
  s[LAST_TS] = ts;
  s[LAST_EXPECTED] = x;
  s[MINV] = x;
  s[MAXV] = x;
}

// What `forecast` found, for the rest of the step: a module scratch vector, so the hot path allocates nothing (the
// step is synchronous, so no two steps share it at once).
const F = new Float64Array(11);
const F_FAST = 0;
const F_SLOW = 1;
const F_PRED_DAY = 2;
const F_PRED_WEEK = 3;
const F_DAY_OK = 4;
const F_WEEK_OK = 5;
const F_ERR_FAST = 6;
const F_ERR_DAY = 7;
const F_ERR_WEEK = 8;
const F_PRED = 9;
const F_ERR = 10;

/** Step 1, the forecast: each forecaster's prediction and typical error, and the one trusted (into `F`). */
function forecast(s: Float64Array, dayB: number, weekB: number): void {
  const fast = s[FAST]!;
  const slow = s[SLOW]!;
  const dayOk = dayB >= 0 && s[dayB + DAY_BUCKETS]! >= 2;
  const weekOk = weekB >= 0 && s[weekB + WEEK_BUCKETS]! >= 2;
  const predDay = dayOk ? slow + s[dayB]! : fast;
  const predWeek = weekOk ? slow + s[weekB]! : fast;
  // Floor the typical error so a flat series does not divide by zero, relative to its magnitude.
  const floor = 1e-3 * s[ABS]! + 1e-9;
  const eF = Math.max(s[ERR_FAST]!, floor);
  const eD = Math.max(s[ERR_DAY]!, floor);
  const eW = Math.max(s[ERR_WEEK]!, floor);
  // Trust the forecaster with the smallest running error.
  let pred = fast;
  let err = eF;
  // A seasonal forecaster must beat the plain level clearly to be trusted (the simpler model wins ties).
  if (dayOk && eD < 0.8 * err) {
    pred = predDay;
    err = eD;
  }
  if (weekOk && eW < 0.8 * err) {
    pred = predWeek;
    err = eW;
  }
  F[F_FAST] = fast;
  F[F_SLOW] = slow;
  F[F_PRED_DAY] = predDay;
  F[F_PRED_WEEK] = predWeek;
  F[F_DAY_OK] = dayOk ? 1 : 0;
  F[F_WEEK_OK] = weekOk ? 1 : 0;
  F[F_ERR_FAST] = eF;
  F[F_ERR_DAY] = eD;
  F[F_ERR_WEEK] = eW;
  F[F_PRED] = pred;
  F[F_ERR] = err;
}

/** Step 2, learning: every forecaster and its error move toward the sample, winsorised. */
function learnForecasts(
  s: Float64Array,
  x: number,
  n: number,
  dayB: number,
  weekB: number,
  p: Readonly<BaselineParams>,
): void {
  const fast = F[F_FAST]!;
  const slow = F[F_SLOW]!;
  const eF = F[F_ERR_FAST]!;
  const eD = F[F_ERR_DAY]!;
  const eW = F[F_ERR_WEEK]!;
  const predDay = F[F_PRED_DAY]!;
  const predWeek = F[F_PRED_WEEK]!;
  // Winsorised updates: a value far from every forecast moves nothing by more than `clip` typical errors.
  const cF = clipAround(x, fast, eF * p.clip);
  s[FAST] = fast + p.fastAlpha * (cF - fast);
  const cS = clipAround(x, slow, Math.max(eF, eD) * p.clip);
  s[SLOW] = slow + p.slowAlpha * (cS - slow);
  if (n === 1) s[ERR_FAST] = Math.abs(x - fast);
  s[ERR_FAST] = s[ERR_FAST]! + p.errAlpha * (Math.min(Math.abs(x - fast), eF * p.clip) - s[ERR_FAST]!);
  if (dayB >= 0) {
    if (F[F_DAY_OK] === 1) s[ERR_DAY] = updateErr(s[ERR_DAY]!, Math.abs(x - predDay), eF, p);
    const resid = clipAround(x, predDay, eD * p.clip) - slow;
    const visits = s[dayB + DAY_BUCKETS]!;
    s[dayB] = visits === 0 ? resid : s[dayB]! + p.seasonAlpha * (resid - s[dayB]!);
    s[dayB + DAY_BUCKETS] = visits + 1;
  }
  if (weekB >= 0) {
    if (F[F_WEEK_OK] === 1) s[ERR_WEEK] = updateErr(s[ERR_WEEK]!, Math.abs(x - predWeek), eF, p);
    const resid = clipAround(x, predWeek, eW * p.clip) - slow;
    const visits = s[weekB + WEEK_BUCKETS]!;
    s[weekB] = visits === 0 ? resid : s[weekB]! + p.seasonAlpha * (resid - s[weekB]!);
    s[weekB + WEEK_BUCKETS] = visits + 1;
  }
  s[ABS] = s[ABS]! + 0.01 * (Math.abs(x) - s[ABS]!);
}

/** Step 4, the level shift: the rarity of the signed average of the distance from the level; CUSUMs date it. */
function levelShiftScore(
  s: Float64Array,
  ts: number,
  levelDev: number,
  n: number,
  p: Readonly<BaselineParams>,
): number {
  const d = Math.max(-p.clip, Math.min(p.clip, levelDev));
  const prevM = s[SHIFT]!;
  const m = prevM + p.shiftAlpha * (d / p.clip - prevM);
  s[SHIFT] = m;
  const rising = Math.abs(m) > Math.abs(prevM);
  // The histogram learns the shift average only once it stops growing, and then its peak: a building shift is not
  // compared with its own rising edge, and a past shift is remembered at its height.
  const shiftScore = rarity(s, CH_SHIFT, Math.abs(m), n, p, p.shiftReachedBins, rising ? null : Math.abs(prevM));
  // Where the shift began: the CUSUM (reference half a typical error) of the same distance last left zero there.
  s[CUSUM_UP] = Math.max(0, s[CUSUM_UP]! + d - 0.5);
  s[CUSUM_DOWN] = Math.max(0, s[CUSUM_DOWN]! - d - 0.5);
  s[SHIFT_UP_SINCE] = s[CUSUM_UP] === 0 ? Number.NaN : Number.isNaN(s[SHIFT_UP_SINCE]!) ? ts : s[SHIFT_UP_SINCE]!;
  s[SHIFT_DOWN_SINCE] =
    s[CUSUM_DOWN] === 0 ? Number.NaN : Number.isNaN(s[SHIFT_DOWN_SINCE]!) ? ts : s[SHIFT_DOWN_SINCE]!;
  return shiftScore;
}

/**
 * Step 6, a new extreme: a value well outside everything seen so far, and off the forecast, is abnormal even when the
 * series is noisy enough that its surprise history would not flag it (a new extreme is news for a monitored metric).
 */
function newExtreme(s: Float64Array, x: number, dev: number, n: number, score: number, p: Readonly<BaselineParams>) {
  const lo = s[MINV]!;
  const hi = s[MAXV]!;
  const tol = p.spatialTolerance * (hi - lo);
  let out = score;
  if (n >= p.warmup && hi > lo && Math.abs(dev) >= p.spatialMinDeviation && (x > hi + tol || x < lo - tol))
    out = Math.max(score, p.alarm);
  if (x < lo) s[MINV] = x;
  if (x > hi) s[MAXV] = x;
  return out;
}

/** Step 5, refractory: one fault, one alarm. Returns the score held below the alarm while refractory. */
function refractory(s: Float64Array, score: number, levelDev: number, p: Readonly<BaselineParams>): number {
  if (s[REFRACT]! > 0) {
    // Over means the score is low and the value is back near its level (a shift is not over when the fast level has
    // absorbed it).
    const calm = score < p.alarm * 0.5 && Math.abs(levelDev) < 2;
    s[REFRACT] = p.refractoryEnds && calm ? 0 : s[REFRACT]! - 1;
    return Math.min(score, p.alarm * 0.5);
  }
  if (score >= p.alarm) s[REFRACT] = p.refractory;
  return score;
}

/** The abnormal run: starts at the first sample noticeably off the forecast and lasts while it stays so. */
function followAbnormalRun(s: Float64Array, ts: number, dev: number): void {
  if (Math.abs(dev) >= 3) {
    if (Number.isNaN(s[ABNORMAL_SINCE]!)) s[ABNORMAL_SINCE] = ts;
  } else if (Math.abs(dev) < 2) s[ABNORMAL_SINCE] = Number.NaN;
}

// Score: the rarity of the short average of (bounded) surprises in this series' own history of it.
function surpriseScore(s: Float64Array, z: number, n: number, p: Readonly<BaselineParams>): number {
  const avg = s[SHORT]! + p.shortAlpha * (z - s[SHORT]!);
  s[SHORT] = avg;
  return rarity(s, CH_AVG, avg, n, p);
}

// A seasonal error starts pessimistic (never below the plain level's) and then follows its winsorised mean.
function updateErr(prev: number, absErr: number, eFast: number, p: Readonly<BaselineParams>): number {
  if (prev === Number.POSITIVE_INFINITY) return Math.max(absErr, eFast * 1.5);
  return prev + p.errAlpha * (Math.min(absErr, Math.max(prev, 1e-12) * p.clip) - prev);
}

function clipAround(x: number, centre: number, width: number): number {
  return Math.min(Math.max(x, centre - width), centre + width);
}

/** The explanation-side view of the last sample fed to `s` (call right after `baselineStep`). */
export function baselineView(s: Float64Array): BaselineView {
  const level = s[LAST_LEVEL]!;
  const levelDeviation = s[LAST_LEVEL_DEV]!;
  const shift = s[LAST_SHIFT] === 1;
  const common = {
    score: s[LAST_SCORE]!,
    shift,
    level,
    levelDeviation,
    forecastDeviation: s[LAST_DEV]!,
    cusumUp: s[CUSUM_UP]!,
    cusumDown: s[CUSUM_DOWN]!,
  };
  if (!shift)
    return { ...common, expected: s[LAST_EXPECTED]!, deviation: s[LAST_DEV]!, abnormalSince: s[ABNORMAL_SINCE]! };
  // A shift: against the level it left, since where the CUSUM says it began (or the abnormal run, if earlier).
  const since = s[levelDeviation >= 0 ? SHIFT_UP_SINCE : SHIFT_DOWN_SINCE]!;
  const run = s[ABNORMAL_SINCE]!;
  return {
    ...common,
    expected: level,
    deviation: levelDeviation,
    abnormalSince: Number.isNaN(run) ? since : Math.min(since, run),
  };
}

/** Samples this state has read. */
export function baselineCount(s: Float64Array): number {
  return s[N]!;
}
