//! Population-safe calibration: a threshold for a target FMR is found on every group (LFW and each
//! East-Asian set) and the strictest one is kept, so the target holds on each group. The thresholds
//! file records what each threshold gave on each group.

use crate::metrics::{rates_at, threshold_for_fmr, Scored};
use crate::EvalError;
use simkyc_face::thresholds::{GroupRates, OperatingPoint};

/// Finds the operating point for `target_fmr` that holds on every group.
pub fn operating_point(groups: &[(String, Vec<Scored>)], target_fmr: f64) -> Result<OperatingPoint, EvalError> {
    let mut own = Vec::new();
    for (name, s) in groups {
        let t = threshold_for_fmr(s, target_fmr).ok_or_else(|| EvalError::Thresholds(format!("group {name} has no impostor pairs")))?;
        own.push(t);
    }
    let (idx, &threshold) = own
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .ok_or_else(|| EvalError::Thresholds("no groups to calibrate on".into()))?;
    Ok(at_threshold(groups, target_fmr, threshold, &own, groups[idx].0.clone()))
}

/// The operating point moved up to a confidence bound (`confidence::common_threshold_bound`):
/// the threshold becomes the higher of the two and every group's rates are measured there again.
pub fn with_margin(groups: &[(String, Vec<Scored>)], point: OperatingPoint, bound: f32, confidence: f64) -> OperatingPoint {
    let empirical = point.threshold;
    let own: Vec<f32> = point.groups.iter().map(|g| g.own_threshold).collect();
    let moved = at_threshold(groups, point.target_fmr, empirical.max(bound), &own, point.set_by);
    OperatingPoint { empirical_threshold: Some(empirical), confidence: Some(confidence), ..moved }
}

fn at_threshold(groups: &[(String, Vec<Scored>)], target_fmr: f64, threshold: f32, own: &[f32], set_by: String) -> OperatingPoint {
    let groups_out = groups
        .iter()
        .zip(own)
        .map(|((name, s), &own_threshold)| {
            let r = rates_at(s, threshold);
            GroupRates { group: name.clone(), own_threshold, fmr: r.fmr, fnmr: r.fnmr, impostors: r.impostors, genuine: r.genuine }
        })
        .collect();
    OperatingPoint { target_fmr, threshold, set_by, empirical_threshold: None, confidence: None, groups: groups_out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictest_group_sets_the_threshold() {
        let easy: Vec<Scored> = (0..100).map(|i| Scored { score: i as f32 / 1000.0, genuine: false, fold: None }).collect();
        let mut hard: Vec<Scored> = (0..100).map(|i| Scored { score: 0.5 + i as f32 / 1000.0, genuine: false, fold: None }).collect();
        hard.push(Scored { score: 0.9, genuine: true, fold: None });
        let op = operating_point(&[("easy".into(), easy), ("hard".into(), hard)], 0.01).unwrap();
        assert_eq!(op.set_by, "hard");
        assert!(op.groups.iter().all(|g| g.fmr <= 0.01));
        assert_eq!(op.groups[1].fnmr, 0.0);
    }

    #[test]
    fn a_margin_raises_the_threshold_and_remeasures_every_group() {
        let imp: Vec<Scored> = (0..1000).map(|i| Scored { score: i as f32 / 1000.0, genuine: false, fold: None }).collect();
        let mut g = imp.clone();
        g.extend((0..10).map(|i| Scored { score: 0.995 + i as f32 / 2000.0, genuine: true, fold: None }));
        let groups = vec![("g".to_string(), g)];
        let op = operating_point(&groups, 0.01).unwrap();
        assert_eq!(op.groups[0].fnmr, 0.0);
        let moved = with_margin(&groups, op.clone(), 0.99725, 0.9);
        assert_eq!(moved.threshold, 0.99725);
        assert_eq!(moved.empirical_threshold, Some(op.threshold));
        assert_eq!(moved.confidence, Some(0.9));
        assert!(moved.groups[0].fmr < op.groups[0].fmr);
        assert!((moved.groups[0].fnmr - 0.5).abs() < 1e-9, "{}", moved.groups[0].fnmr);
        // A bound below the empirical point never lowers the threshold.
        assert_eq!(with_margin(&groups, op.clone(), 0.5, 0.9).threshold, op.threshold);
    }
}
