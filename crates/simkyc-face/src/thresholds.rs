//! The engine's operating points: the thresholds file that `simkyc calibrate` writes (a target
//! FMR per point, the threshold that holds it on every development group, and what it gave on
//! each), the files built in for the shipped engines, and the check that a file belongs to the
//! pipeline in use. Part of the engine configuration; the evaluation crate only computes them.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A thresholds file that cannot be read, parsed, or used with this pipeline.
#[derive(Debug, Clone, thiserror::Error)]
#[error("thresholds: {0}")]
pub struct ThresholdsError(pub String);

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
    /// Where the strictest group's own pairs reach the target; `threshold` lies above it by the
    /// confidence margin (absent in files calibrated without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empirical_threshold: Option<f32>,
    /// Confidence that the threshold holds the target on new people of the same population
    /// (identity resampling, docs/accuracy.md); absent when calibrated at the empirical point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
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
    /// Duplicate-check (1:N) thresholds by gallery size and target FPIR; without it the
    /// duplicate check searches at the strict point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_set: Option<crate::open_set::OpenSet>,
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
    pub fn check_fits(&self, embedder: &str, adaptation_id: Option<&str>) -> Result<(), ThresholdsError> {
        let want = adaptation_tag(adaptation_id);
        if !self.pipeline.contains(&want) {
            return Err(ThresholdsError(format!(
                "the thresholds ({}) were not calibrated with {want}; run `simkyc calibrate` with the same options and pass --thresholds",
                self.pipeline
            )));
        }
        if self.embedder != embedder {
            return Err(ThresholdsError(format!(
                "the thresholds were calibrated for embedder {:?}, but {embedder:?} is in use; run `simkyc calibrate` and pass --thresholds",
                self.embedder
            )));
        }
        Ok(())
    }

    /// Parses a thresholds file.
    pub fn parse(text: &str) -> Result<Thresholds, ThresholdsError> {
        let t: Thresholds = toml::from_str(text).map_err(|e| ThresholdsError(e.to_string()))?;
        // A NaN threshold is refused too: it compares as neither above nor equal.
        if !matches!(t.strict.threshold.partial_cmp(&t.default.threshold), Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)) {
            return Err(ThresholdsError("strict threshold is below the default threshold".into()));
        }
        for (name, op) in [("default", &t.default), ("strict", &t.strict)] {
            if let Some(c) = op.confidence {
                if !(c > 0.0 && c < 1.0) {
                    return Err(ThresholdsError(format!("{name}: confidence {c} is not between 0 and 1")));
                }
            }
            if let Some(e) = op.empirical_threshold {
                // A confidence margin only ever raises a threshold above the empirical point.
                if op.threshold.partial_cmp(&e).is_none_or(|o| o == std::cmp::Ordering::Less) {
                    return Err(ThresholdsError(format!("{name}: threshold {} lies below its empirical point {e}", op.threshold)));
                }
            }
        }
        if let Some(o) = &t.open_set {
            o.validate().map_err(ThresholdsError)?;
        }
        Ok(t)
    }

    /// Loads a thresholds file, or the one built in for `embedder`.
    pub fn load(path: Option<&Path>, embedder: &str) -> Result<Thresholds, ThresholdsError> {
        match path {
            Some(p) => Self::parse(&std::fs::read_to_string(p).map_err(|e| ThresholdsError(format!("{}: {e}", p.display())))?),
            None => Self::parse(builtin_for(embedder).ok_or_else(|| {
                ThresholdsError(format!("no built-in thresholds for embedder {embedder:?}; run `simkyc calibrate` and pass --thresholds"))
            })?),
        }
    }

    /// Writes the file as TOML.
    pub fn to_toml(&self) -> Result<String, ThresholdsError> {
        toml::to_string_pretty(self).map_err(|e| ThresholdsError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_default_engine_ships_thresholds_with_a_confidence_margin() {
        let t = Thresholds::parse(BUILTIN).expect("built-in thresholds parse");
        for op in [&t.default, &t.strict] {
            let e = op.empirical_threshold.expect("the built-in file records the empirical point");
            assert!(op.threshold > e, "{} against {e}", op.threshold);
            assert_eq!(op.confidence, Some(0.9));
        }
        // A margin that would lower a threshold, or a confidence that is not a probability, is refused.
        let lowered = BUILTIN.replacen("empirical_threshold = 0.", "empirical_threshold = 0.9", 1);
        assert!(Thresholds::parse(&lowered).expect_err("refused").to_string().contains("below its empirical point"));
        let odd = BUILTIN.replacen("confidence = 0.9", "confidence = 1.5", 1);
        assert!(Thresholds::parse(&odd).expect_err("refused").to_string().contains("confidence"));
    }
}
