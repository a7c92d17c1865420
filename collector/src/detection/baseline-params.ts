/** The baseline's knobs and the shipped set (docs/0003-detection.md). */

/** Knobs of the baseline; the defaults are the shipped, one-for-all parameter set. */
export interface BaselineParams {
  /** Samples read before any score above 0 (learning). */
  warmup: number;
  /** Smoothing of the fast level. */
  fastAlpha: number;
  /** Smoothing of the slow level (seasonal forecasters ride on it). */
  slowAlpha: number;
  /** Smoothing of each seasonal bucket on a visit. */
  seasonAlpha: number;
  /** Smoothing of each forecaster's mean absolute error. */
  errAlpha: number;
  /** Surprises are clipped to this many typical errors before they update anything. */
  clip: number;
  /** Smoothing of the short average of surprises. */
  shortAlpha: number;
  /** Surprises are bounded at this many typical errors, then scaled to [0, 1]. */
  maxSurprise: number;
  /** Smoothing of the long-run mean and variance of the short average (the series' own history). */
  historyAlpha: number;
  /** What the history learns from an average is capped at this many spreads above its mean. */
  historyCap: number;
  /** Smallest spread of that history (bounded-surprise units). */
  minSpread: number;
  /** A tail probability of 10^-tailDigits scores 1. */
  tailDigits: number;
  /** Score at or above which the series raises an alarm (also the shipped incident threshold). */
  alarm: number;
  /** Samples after an alarm during which the score is held below the alarm (one fault, one alarm row). */
  refractory: number;
  /** The refractory state ends early once the score is back below half the alarm level (the fault is over). */
  refractoryEnds: boolean;
  /**
   * A value beyond everything seen so far by more than this fraction of the range seen is abnormal (Numenta HTM's
   * "spatial anomaly" rule and its tolerance) …
   */
  spatialTolerance: number;
  /** … when it is also this many typical errors off the forecast (a counter or a slow fill makes new highs calmly). */
  spatialMinDeviation: number;
  /**
   * Forgetting rate of the empirical histogram of surprise averages; 0 turns it off. A level of surprise this series
   * reaches now and then (daily bursts) is not news however improbable a Gaussian would call it.
   */
  empiricalAlpha: number;
  /** The empirical share counts this much against the Gaussian tail. */
  empiricalWeight: number;
  /**
   * Smoothing of the level-shift channel: a signed average of the distance from the level (slow level, or the trusted
   * seasonal forecast) in typical errors, clipped at `clip`. A shift too small for the short average of surprises
   * (the fast level absorbs it within a few samples) builds up here; 0 turns the channel off.
   */
  shiftAlpha: number;
  /**
   * In the level-shift channel, a level within this many histogram bins (of 64) of one the series reached lately
   * counts as reached: the average moves smoothly, so a repeat of a past shift peaks a hair above or below it.
   */
  shiftReachedBins: number;
}

/** The shipped parameters, one set for every metric and every file. */
export const DEFAULT_BASELINE: Readonly<BaselineParams> = Object.freeze({
  warmup: 150,
  fastAlpha: 0.2,
  slowAlpha: 0.01,
  seasonAlpha: 0.15,
  errAlpha: 0.01,
  clip: 6,
  shortAlpha: 0.15,
  maxSurprise: 12,
  historyAlpha: 0.002,
  historyCap: 3,
  minSpread: 0.02,
  tailDigits: 10,
  alarm: 0.5,
  refractory: 150,
  refractoryEnds: true,
  spatialTolerance: 0.05,
  spatialMinDeviation: 3,
  empiricalAlpha: 0.005,
  empiricalWeight: 0.05,
  shiftAlpha: 0.05,
  shiftReachedBins: 1,
});
