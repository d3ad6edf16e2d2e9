//! Confidence margins for calibrated thresholds. A development group's impostor pairs come from a
//! few hundred people, and one pair of look-alikes contributes every pair of their photos, so the
//! threshold that gives a target FMR on them moves from one sample of people to the next: set at
//! the empirical point, a new sample of the same population exceeds the target about half the
//! time. Resampling *people* (not pairs) with replacement measures that movement; a high quantile
//! of the resampled common threshold is an upper confidence bound that holds the target on new
//! people of the same population with the chosen confidence.

use crate::EvalError;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Uniform};
use std::collections::HashMap;

/// One impostor pair's score with the people on each side (indices within its group).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonPair {
    /// Similarity; −∞ when an image yielded no face.
    pub score: f32,
    /// One side's person.
    pub a: u32,
    /// The other side's person (differs from `a`).
    pub b: u32,
}

/// How the bound is drawn: the confidence, the number of resamples, and the seed that makes a
/// calibration reproducible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resampling {
    /// Probability that the bound holds the target on a new sample of people (e.g. 0.9).
    pub confidence: f64,
    /// How many resamples of every group's people.
    pub replicates: usize,
    /// Seed of the resampling.
    pub seed: u64,
}

/// The resampled common threshold for one target FMR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The `confidence` quantile of the resampled common thresholds.
    pub threshold: f32,
    /// Their median.
    pub median: f32,
    /// Their standard deviation.
    pub sd: f32,
}

/// How much of the impostor tail is kept, as a multiple of the pairs the target allows.
const TAIL_FACTOR: f64 = 50.0;

/// One group's impostor pairs in the compact form resampling needs.
struct Tail {
    /// Number of distinct people (indices `0..people` after compaction).
    people: usize,
    /// Impostor pairs per pair of people.
    counts: Vec<(u32, u32, f64)>,
    /// The highest impostor scores, best first, with their people.
    top: Vec<(f32, u32, u32)>,
    /// Whether `top` holds every impostor pair.
    complete: bool,
}

impl Tail {
    fn new(pairs: &[PersonPair], target_fmr: f64) -> Tail {
        let mut ids: HashMap<u32, u32> = HashMap::new();
        let mut compact = |p: u32| -> u32 {
            let n = ids.len() as u32;
            *ids.entry(p).or_insert(n)
        };
        let mut by_people: HashMap<(u32, u32), f64> = HashMap::new();
        let mut all: Vec<(f32, u32, u32)> = Vec::with_capacity(pairs.len());
        for p in pairs {
            let (a, b) = (compact(p.a), compact(p.b));
            let key = (a.min(b), a.max(b));
            *by_people.entry(key).or_insert(0.0) += 1.0;
            all.push((p.score, key.0, key.1));
        }
        let keep = ((target_fmr * pairs.len() as f64 * TAIL_FACTOR).ceil() as usize + 1000).min(all.len());
        let complete = keep == all.len();
        if !complete {
            all.select_nth_unstable_by(keep, |x, y| y.0.total_cmp(&x.0));
            all.truncate(keep);
        }
        all.sort_by(|x, y| y.0.total_cmp(&x.0));
        let mut counts: Vec<(u32, u32, f64)> = by_people.into_iter().map(|((a, b), c)| (a, b, c)).collect();
        counts.sort_by_key(|&(a, b, _)| (a, b));
        Tail { people: ids.len(), counts, top: all, complete }
    }

    /// The lowest threshold whose FMR, with each person weighted by `m`, is at most the target;
    /// `None` when the weighted group has no impostor pairs.
    fn threshold(&self, m: &[f64], target_fmr: f64) -> Result<Option<f32>, EvalError> {
        let total: f64 = self.counts.iter().map(|&(a, b, c)| c * m[a as usize] * m[b as usize]).sum();
        if total <= 0.0 {
            return Ok(None);
        }
        let allowed = (target_fmr * total).floor();
        let mut passed = 0.0;
        for &(s, a, b) in &self.top {
            passed += m[a as usize] * m[b as usize];
            if passed > allowed {
                return Ok(Some(crate::metrics::next_up(s)));
            }
        }
        if self.complete {
            Ok(Some(f32::MIN))
        } else {
            Err(EvalError::Thresholds(format!(
                "resampling reached the end of the {} highest impostor scores kept; the target FMR {target_fmr:e} is too loose for this group",
                self.top.len()
            )))
        }
    }
}

/// The upper confidence bound of the common threshold (the strictest group's, as calibration
/// keeps) for `target_fmr`, by resampling each group's people with replacement.
pub fn common_threshold_bound(groups: &[(String, Vec<PersonPair>)], target_fmr: f64, r: Resampling) -> Result<Bound, EvalError> {
    if !(r.confidence > 0.0 && r.confidence < 1.0) {
        return Err(EvalError::Thresholds(format!("confidence must lie between 0 and 1, not {}", r.confidence)));
    }
    if r.replicates == 0 {
        return Err(EvalError::Thresholds("at least one resample is needed".into()));
    }
    let tails: Vec<Tail> = groups.iter().filter(|(_, p)| !p.is_empty()).map(|(_, p)| Tail::new(p, target_fmr)).collect();
    if tails.is_empty() {
        return Err(EvalError::Thresholds("no impostor pairs to resample".into()));
    }
    let mut rng = StdRng::seed_from_u64(r.seed);
    let mut common = Vec::with_capacity(r.replicates);
    for _ in 0..r.replicates {
        let mut worst: Option<f32> = None;
        for t in &tails {
            let pick = Uniform::new(0, t.people).map_err(|e| EvalError::Thresholds(format!("resampling: {e}")))?;
            let mut m = vec![0.0f64; t.people];
            for _ in 0..t.people {
                m[pick.sample(&mut rng)] += 1.0;
            }
            if let Some(th) = t.threshold(&m, target_fmr)? {
                worst = Some(worst.map_or(th, |w| w.max(th)));
            }
        }
        if let Some(w) = worst {
            common.push(w);
        }
    }
    if common.is_empty() {
        return Err(EvalError::Thresholds("no resample held an impostor pair".into()));
    }
    common.sort_by(f32::total_cmp);
    let at = |q: f64| common[((q * common.len() as f64).ceil() as usize).clamp(1, common.len()) - 1];
    let mean = common.iter().map(|&x| x as f64).sum::<f64>() / common.len() as f64;
    let var = common.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / common.len() as f64;
    Ok(Bound { threshold: at(r.confidence), median: at(0.5), sd: var.sqrt() as f32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `people` people, every pair of them one impostor pair scored by `score(a, b)`.
    fn group(people: u32, score: impl Fn(u32, u32) -> f32) -> Vec<PersonPair> {
        let mut out = Vec::new();
        for a in 0..people {
            for b in a + 1..people {
                out.push(PersonPair { score: score(a, b), a, b });
            }
        }
        out
    }

    fn spread(a: u32, b: u32) -> f32 {
        // Deterministic scores spread over [0, 1).
        (((a * 7919 + b * 104_729) % 10_007) as f32) / 10_007.0
    }

    const R: Resampling = Resampling { confidence: 0.9, replicates: 400, seed: 7 };

    #[test]
    fn the_bound_lies_above_the_median_and_is_reproducible() {
        let g = vec![("g".to_string(), group(200, spread))];
        let b = common_threshold_bound(&g, 1e-2, R).expect("bound");
        assert!(b.threshold > b.median, "{b:?}");
        assert!(b.sd > 0.0);
        assert_eq!(b, common_threshold_bound(&g, 1e-2, R).expect("bound"));
        let other = common_threshold_bound(&g, 1e-2, Resampling { seed: 8, ..R }).expect("bound");
        assert!((other.threshold - b.threshold).abs() < 0.01, "{other:?} against {b:?}");
    }

    #[test]
    fn look_alikes_that_the_sample_holds_within_the_target_still_raise_the_bound() {
        // Six people resemble each other closely (15 pairs at 0.999): within the 19 pairs that
        // FMR 1e-3 allows among 200 people, so the empirical threshold stays among ordinary
        // scores. A new sample holding more of such people would exceed the target there, and
        // the bound must cover it; without them it stays below.
        let look = group(200, |a, b| if a < 6 && b < 6 { 0.999 } else { spread(a, b) * 0.99 });
        let tail = Tail::new(&look, 1e-3);
        let empirical = tail.threshold(&vec![1.0; tail.people], 1e-3).expect("ok").expect("impostors");
        assert!(empirical < 0.99, "{empirical}");
        let l = common_threshold_bound(&[("g".to_string(), look)], 1e-3, R).expect("bound");
        assert!(l.threshold > 0.999, "{l:?}");
        let p = common_threshold_bound(&[("g".to_string(), group(200, |a, b| spread(a, b) * 0.99))], 1e-3, R).expect("bound");
        assert!(p.threshold < 0.99, "{p:?}");
    }

    #[test]
    fn the_strictest_group_sets_each_resample() {
        let low = ("low".to_string(), group(100, |a, b| spread(a, b) * 0.5));
        let high = ("high".to_string(), group(100, |a, b| 0.5 + spread(a, b) * 0.5));
        let both = common_threshold_bound(&[low.clone(), high.clone()], 1e-2, R).expect("bound");
        let alone = common_threshold_bound(&[high], 1e-2, R).expect("bound");
        assert!(both.median > 0.9 && (both.median - alone.median).abs() < 0.01, "{both:?} {alone:?}");
    }

    #[test]
    fn the_resampled_threshold_matches_the_empirical_one_on_average() {
        // Every person drawn once is the empirical point: the weighted rule must agree with
        // metrics::threshold_for_fmr on the same pairs.
        let pairs = group(120, spread);
        let tail = Tail::new(&pairs, 1e-2);
        let t = tail.threshold(&vec![1.0; tail.people], 1e-2).expect("ok").expect("impostors");
        let scored: Vec<crate::metrics::Scored> =
            pairs.iter().map(|p| crate::metrics::Scored { score: p.score, genuine: false, fold: None }).collect();
        assert_eq!(Some(t), crate::metrics::threshold_for_fmr(&scored, 1e-2));
    }

    #[test]
    fn nonsense_settings_are_refused() {
        let g = vec![("g".to_string(), group(20, spread))];
        for c in [0.0, 1.0, 1.5, f64::NAN] {
            assert!(common_threshold_bound(&g, 1e-2, Resampling { confidence: c, ..R }).is_err());
        }
        assert!(common_threshold_bound(&g, 1e-2, Resampling { replicates: 0, ..R }).is_err());
        assert!(common_threshold_bound(&[("e".to_string(), vec![])], 1e-2, R).is_err());
    }
}
