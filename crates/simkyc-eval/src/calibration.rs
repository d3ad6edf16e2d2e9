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
    let groups_out = groups
        .iter()
        .zip(&own)
        .map(|((name, s), &own_threshold)| {
            let r = rates_at(s, threshold);
            GroupRates { group: name.clone(), own_threshold, fmr: r.fmr, fnmr: r.fnmr, impostors: r.impostors, genuine: r.genuine }
        })
        .collect();
    Ok(OperatingPoint { target_fmr, threshold, set_by: groups[idx].0.clone(), groups: groups_out })
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
}
