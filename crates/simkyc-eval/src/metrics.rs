//! Verification metrics on scored pairs: FMR/FNMR at a threshold, thresholds for a target FMR,
//! EER, TAR at fixed FAR, and accuracy (10-fold when the file has folds).
//!
//! Convention: a pair matches when `score >= threshold`. A pair whose image failed is scored
//! `f32::NEG_INFINITY`, so it never matches: a genuine failure is a false non-match.

use serde::Serialize;

/// One scored pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Similarity (higher = more alike); −∞ when an image failed.
    pub score: f32,
    /// Same person?
    pub genuine: bool,
    /// Fold, if any.
    pub fold: Option<usize>,
}

/// Error rates at one threshold.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Rates {
    /// Threshold.
    pub threshold: f32,
    /// False-match rate: impostor pairs at or above the threshold.
    pub fmr: f64,
    /// False-non-match rate: genuine pairs below the threshold.
    pub fnmr: f64,
    /// Impostor pairs counted.
    pub impostors: usize,
    /// Genuine pairs counted.
    pub genuine: usize,
}

/// FMR and FNMR at a threshold.
pub fn rates_at(s: &[Scored], threshold: f32) -> Rates {
    let (mut fm, mut imp, mut fnm, mut gen) = (0usize, 0usize, 0usize, 0usize);
    for p in s {
        if p.genuine {
            gen += 1;
            // A NaN score is a non-match.
            if !matches!(p.score.partial_cmp(&threshold), Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)) {
                fnm += 1;
            }
        } else {
            imp += 1;
            if p.score >= threshold {
                fm += 1;
            }
        }
    }
    let r = |a: usize, b: usize| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
    Rates { threshold, fmr: r(fm, imp), fnmr: r(fnm, gen), impostors: imp, genuine: gen }
}

/// The lowest threshold whose FMR is at most `target` (ties broken towards stricter).
/// Returns `None` when there are no impostor pairs.
pub fn threshold_for_fmr(s: &[Scored], target: f64) -> Option<f32> {
    let mut imp: Vec<f32> = s.iter().filter(|p| !p.genuine).map(|p| p.score).collect();
    if imp.is_empty() {
        return None;
    }
    imp.sort_by(|a, b| b.total_cmp(a));
    let allowed = (target * imp.len() as f64).floor() as usize;
    // Threshold just above the (allowed+1)-th highest impostor score.
    let idx = allowed.min(imp.len() - 1);
    let mut t = next_up(imp[idx]);
    // Scores tied with the allowed ones would also pass; step over them.
    while rates_at(s, t).fmr > target {
        t = next_up(t);
    }
    Some(t)
}

/// The next f32 above `x` (−∞ steps to the lowest finite value).
pub(crate) fn next_up(x: f32) -> f32 {
    if x.is_infinite() && x < 0.0 {
        return f32::MIN;
    }
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    let bits = x.to_bits();
    let next = if x == 0.0 {
        1
    } else if x > 0.0 {
        bits + 1
    } else {
        bits - 1
    };
    f32::from_bits(next)
}

/// Candidate thresholds: every distinct score, plus one above the maximum.
fn candidates(s: &[Scored]) -> Vec<f32> {
    let mut t: Vec<f32> = s.iter().map(|p| p.score).filter(|x| x.is_finite()).collect();
    t.sort_by(|a, b| a.total_cmp(b));
    t.dedup();
    if let Some(&m) = t.last() {
        t.push(next_up(m));
    }
    t
}

/// Equal error rate: the point where FMR and FNMR cross (their mean at the closest threshold).
pub fn eer(s: &[Scored]) -> f64 {
    let mut best = (f64::INFINITY, f64::NAN);
    for t in candidates(s) {
        let r = rates_at(s, t);
        let gap = (r.fmr - r.fnmr).abs();
        if gap < best.0 {
            best = (gap, (r.fmr + r.fnmr) / 2.0);
        }
    }
    best.1
}

/// True-accept rate at a false-accept rate: 1 − FNMR at the threshold for that FMR.
pub fn tar_at_far(s: &[Scored], far: f64) -> Option<f64> {
    threshold_for_fmr(s, far).map(|t| 1.0 - rates_at(s, t).fnmr)
}

fn accuracy_at(s: &[Scored], t: f32) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let ok = s.iter().filter(|p| p.score.is_finite() && ((p.score >= t) == p.genuine)).count();
    ok as f64 / s.len() as f64
}

fn best_threshold(s: &[Scored]) -> f32 {
    let mut best = (-1.0, 0.0f32);
    for t in candidates(s) {
        let a = accuracy_at(s, t);
        if a > best.0 {
            best = (a, t);
        }
    }
    best.1
}

/// How accuracy was measured.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Accuracy {
    /// Fraction of pairs decided correctly (a failed image is always wrong).
    pub accuracy: f64,
    /// `"10-fold"`-style cross-validation, or `"best-threshold"` on the file itself (optimistic).
    pub protocol: String,
    /// Threshold used (the mean over folds for cross-validation).
    pub threshold: f32,
}

/// Accuracy: k-fold (threshold chosen on the other folds) when pairs carry folds, else at the
/// threshold that maximises accuracy on the whole file.
pub fn accuracy(s: &[Scored]) -> Accuracy {
    let folds = s.iter().filter_map(|p| p.fold).max().map(|m| m + 1).unwrap_or(0);
    if folds >= 2 {
        let mut accs = Vec::new();
        let mut ts = Vec::new();
        for k in 0..folds {
            let train: Vec<Scored> = s.iter().filter(|p| p.fold != Some(k)).copied().collect();
            let test: Vec<Scored> = s.iter().filter(|p| p.fold == Some(k)).copied().collect();
            let t = best_threshold(&train);
            accs.push(accuracy_at(&test, t));
            ts.push(t);
        }
        Accuracy {
            accuracy: accs.iter().sum::<f64>() / folds as f64,
            protocol: format!("{folds}-fold"),
            threshold: ts.iter().sum::<f32>() / folds as f32,
        }
    } else {
        let t = best_threshold(s);
        Accuracy { accuracy: accuracy_at(s, t), protocol: "best-threshold".into(), threshold: t }
    }
}

/// ROC points (FMR, 1 − FNMR) over all thresholds, for plotting.
pub fn roc(s: &[Scored]) -> Vec<(f64, f64)> {
    let mut gen: Vec<f32> = s.iter().filter(|p| p.genuine).map(|p| p.score).collect();
    let mut imp: Vec<f32> = s.iter().filter(|p| !p.genuine).map(|p| p.score).collect();
    gen.sort_by(|a, b| b.total_cmp(a));
    imp.sort_by(|a, b| b.total_cmp(a));
    let (ng, ni) = (gen.len().max(1) as f64, imp.len().max(1) as f64);
    let mut out = Vec::new();
    let (mut i, mut g) = (0usize, 0usize);
    for t in candidates(s).into_iter().rev() {
        while i < imp.len() && imp[i] >= t {
            i += 1;
        }
        while g < gen.len() && gen[g] >= t {
            g += 1;
        }
        out.push((i as f64 / ni, g as f64 / ng));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(v: &[(f32, bool)]) -> Vec<Scored> {
        v.iter().map(|&(score, genuine)| Scored { score, genuine, fold: None }).collect()
    }

    #[test]
    fn rates_and_threshold_for_fmr() {
        // 10 impostors 0.0..0.9, 4 genuine.
        let mut v: Vec<(f32, bool)> = (0..10).map(|i| (i as f32 / 10.0, false)).collect();
        v.extend([(0.95, true), (0.85, true), (0.5, true), (f32::NEG_INFINITY, true)]);
        let s = sc(&v);
        let t = threshold_for_fmr(&s, 0.1).unwrap();
        let r = rates_at(&s, t);
        assert!(r.fmr <= 0.1 + 1e-12, "{r:?}");
        assert!((r.fmr - 0.1).abs() < 1e-12, "one impostor (0.9) may pass: {r:?}");
        assert!(t > 0.8 && t <= 0.9, "{t}");
        assert_eq!(r.fnmr, 0.5, "0.5 and the failed image are rejected; 0.85 and 0.95 pass");
        let t0 = threshold_for_fmr(&s, 0.0).unwrap();
        assert_eq!(rates_at(&s, t0).fmr, 0.0);
        assert!(t0 > 0.9);
    }

    #[test]
    fn perfect_separation_has_zero_eer_and_full_accuracy() {
        let s = sc(&[(0.1, false), (0.2, false), (0.8, true), (0.9, true)]);
        assert_eq!(eer(&s), 0.0);
        let a = accuracy(&s);
        assert_eq!(a.accuracy, 1.0);
        assert_eq!(a.protocol, "best-threshold");
    }

    #[test]
    fn failures_are_always_wrong() {
        let s = sc(&[(0.1, false), (f32::NEG_INFINITY, false), (0.8, true), (0.9, true)]);
        assert_eq!(accuracy(&s).accuracy, 0.75);
    }

    #[test]
    fn kfold_uses_held_out_thresholds() {
        let mut s = Vec::new();
        for k in 0..4 {
            s.push(Scored { score: 0.2, genuine: false, fold: Some(k) });
            s.push(Scored { score: 0.8, genuine: true, fold: Some(k) });
        }
        let a = accuracy(&s);
        assert_eq!(a.protocol, "4-fold");
        assert_eq!(a.accuracy, 1.0);
    }

    #[test]
    fn eer_of_overlapping_scores() {
        let s = sc(&[(0.1, false), (0.6, false), (0.4, true), (0.9, true)]);
        assert!((eer(&s) - 0.5).abs() < 1e-12);
        let r = roc(&s);
        assert_eq!(r.first(), Some(&(0.0, 0.0)));
        assert_eq!(r.last(), Some(&(1.0, 1.0)));
    }
}
