//! Population-safe calibration: a threshold for a target FMR is found on every group (LFW and each
//! East-Asian set) and the strictest one is kept, so the target holds on each group. The thresholds
//! file records what each threshold gave on each group.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::metrics::{rates_at, threshold_for_fmr, Scored};
use crate::EvalError;

/// The rates one threshold gave on one group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupRates {
    /// Group name (data set).
    pub group: String,
    /// The threshold this group alone would need for the target FMR.
    pub own_threshold: f32,
    /// FMR at the chosen (strictest) threshold.
    pub fmr: f64,
    /// FNMR at the chosen threshold (NaN when the group has no genuine pairs).
    pub fnmr: f64,
    /// Impostor pairs in the group.
    pub impostors: usize,
    /// Genuine pairs in the group.
    pub genuine: usize,
}

/// One operating point: a target FMR, its threshold, and per-group results.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OperatingPoint {
    /// False-match rate aimed for.
    pub target_fmr: f64,
    /// Cosine threshold: scores at or above it match.
    pub threshold: f32,
    /// Which group set the threshold.
    pub set_by: String,
    /// Results on each group.
    pub groups: Vec<GroupRates>,
}

/// A thresholds file, tied to the pipeline that produced the scores.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Embedder name from the models manifest.
    pub embedder: String,
    /// Pipeline settings that change scores (e.g. flip averaging).
    pub pipeline: String,
    /// How the file was made.
    pub note: String,
    /// Default decision threshold (FMR 1e-3 on every group).
    pub default: OperatingPoint,
    /// Strict point (FMR 1e-4 on every group): at or above it a 1:1 match needs no review.
    pub strict: OperatingPoint,
}

/// The thresholds built into simkyc for the default engine (YuNet + SFace), calibrated on the
/// development sets.
pub const BUILTIN: &str = include_str!("../../../config/thresholds.toml");

/// The thresholds built into simkyc for the previous engine (dlib MMOD + ResNet + adaptation),
/// still selectable in the models manifest.
pub const BUILTIN_DLIB: &str = include_str!("../../../config/thresholds-dlib.toml");

/// The built-in thresholds file calibrated for an embedder, if there is one.
pub fn builtin_for(embedder: &str) -> Option<&'static str> {
    [BUILTIN, BUILTIN_DLIB].into_iter().find(|t| Thresholds::parse(t).map(|t| t.embedder == embedder).unwrap_or(false))
}

/// The tag a thresholds file's pipeline string carries for an adaptation (by its id; `none`).
pub fn adaptation_tag(adaptation_id: Option<&str>) -> String {
    format!("adaptation={}", adaptation_id.unwrap_or("none"))
}

impl Thresholds {
    /// Checks these thresholds were calibrated for this embedder and adaptation: scores of
    /// another pipeline would be compared with the wrong operating points.
    pub fn check_fits(&self, embedder: &str, adaptation_id: Option<&str>) -> Result<(), EvalError> {
        let want = adaptation_tag(adaptation_id);
        if !self.pipeline.contains(&want) {
            return Err(EvalError::Thresholds(format!(
                "the thresholds ({}) were not calibrated with {want}; run `simkyc calibrate` with the same options and pass --thresholds",
                self.pipeline
            )));
        }
        if self.embedder != embedder {
            return Err(EvalError::Thresholds(format!(
                "the thresholds were calibrated for embedder {:?}, but {embedder:?} is in use; run `simkyc calibrate` and pass --thresholds",
                self.embedder
            )));
        }
        Ok(())
    }

    /// Parses a thresholds file.
    pub fn parse(text: &str) -> Result<Thresholds, EvalError> {
        let t: Thresholds = toml::from_str(text).map_err(|e| EvalError::Thresholds(e.to_string()))?;
        // A NaN threshold is refused too: it compares as neither above nor equal.
        if !matches!(t.strict.threshold.partial_cmp(&t.default.threshold), Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)) {
            return Err(EvalError::Thresholds("strict threshold is below the default threshold".into()));
        }
        Ok(t)
    }

    /// Loads a thresholds file, or the one built in for `embedder`.
    pub fn load(path: Option<&Path>, embedder: &str) -> Result<Thresholds, EvalError> {
        match path {
            Some(p) => Self::parse(&std::fs::read_to_string(p).map_err(|e| EvalError::Io(format!("{}: {e}", p.display())))?),
            None => Self::parse(builtin_for(embedder).ok_or_else(|| {
                EvalError::Thresholds(format!(
                    "no built-in thresholds for embedder {embedder:?}; run `simkyc calibrate` and pass --thresholds"
                ))
            })?),
        }
    }

    /// Writes the file as TOML.
    pub fn to_toml(&self) -> Result<String, EvalError> {
        toml::to_string_pretty(self).map_err(|e| EvalError::Thresholds(e.to_string()))
    }
}

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

    #[test]
    fn builtin_files_parse() {
        for b in [BUILTIN, BUILTIN_DLIB] {
            let t = Thresholds::parse(b).expect("built-in thresholds parse");
            assert!(t.default.target_fmr > t.strict.target_fmr);
            assert_eq!(builtin_for(&t.embedder), Some(b));
        }
        assert_eq!(builtin_for("dlib-resnet-v1"), Some(BUILTIN_DLIB));
        assert!(builtin_for("no-such-embedder").is_none());
        assert!(Thresholds::load(None, "no-such-embedder").is_err());
    }
}
