//! How live frames are embedded: with their mirror (flip averaging, two embedder passes a
//! frame), without it (one pass), or without it first and with it only when the 1:1 score lies
//! so near a threshold that the mirror could change the decision. Document photos always keep
//! their mirror; they are embedded once per registration.

use std::sync::Arc;

use image::RgbImage;
use simkyc_face::FaceError;
use simkyc_workflow::MatchPoints;

use crate::capture::mean_score;
use crate::{LiveCapture, Verifier};

/// How far from a threshold a score without mirrors must lie for the mirrors to be skipped: the
/// mirror moved a live face's 1:1 score by 0.011 on average and by at most 0.077 over all
/// 85,941 scored development pairs (README, "Against the speed targets").
pub const NEAR_THRESHOLD_MARGIN: f32 = 0.08;

/// How live frames are embedded (`live_flip` in the server's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LiveFlip {
    /// Every live frame with its mirror.
    #[default]
    Always,
    /// No live frame with its mirror: half the embedding cost, a little accuracy lost.
    Never,
    /// Without mirrors first; with them when the score lies within [`NEAR_THRESHOLD_MARGIN`] of
    /// the default or strict point, where they could change the decision.
    NearThreshold,
}

impl LiveFlip {
    /// The setting's name in configuration files and the admin settings.
    pub fn as_str(self) -> &'static str {
        match self {
            LiveFlip::Always => "always",
            LiveFlip::Never => "never",
            LiveFlip::NearThreshold => "near-threshold",
        }
    }

    /// Whether the first analysis of a live frame embeds its mirror too.
    pub fn mirrors_first(self) -> bool {
        self == LiveFlip::Always
    }
}

impl std::fmt::Display for LiveFlip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `live_flip` value that is none of the accepted ones.
#[derive(Debug, thiserror::Error)]
#[error("live_flip must be `always` (or true), `never` (or false) or `near-threshold`, not {0:?}")]
pub struct UnknownLiveFlip(pub String);

impl std::str::FromStr for LiveFlip {
    type Err = UnknownLiveFlip;
    fn from_str(s: &str) -> Result<LiveFlip, UnknownLiveFlip> {
        match s {
            "always" | "true" => Ok(LiveFlip::Always),
            "never" | "false" => Ok(LiveFlip::Never),
            "near-threshold" => Ok(LiveFlip::NearThreshold),
            other => Err(UnknownLiveFlip(other.to_string())),
        }
    }
}

impl serde::Serialize for LiveFlip {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for LiveFlip {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LiveFlip, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = LiveFlip;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false, \"always\", \"never\" or \"near-threshold\"")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<LiveFlip, E> {
                Ok(if v { LiveFlip::Always } else { LiveFlip::Never })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LiveFlip, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The decoded live frames kept, beside a capture's analysed frames, until the decision knows
/// whether their mirrors are needed (only under [`LiveFlip::NearThreshold`]).
#[derive(Clone, Default)]
pub struct PendingMirrors(pub(crate) Vec<Arc<RgbImage>>);

impl std::fmt::Debug for PendingMirrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PendingMirrors({} frames)", self.0.len())
    }
}

/// Whether a 1:1 score lies near enough to either point that the mirrors could change the decision.
pub fn near_a_threshold(score: f32, points: MatchPoints) -> bool {
    (score - points.default).abs() <= NEAR_THRESHOLD_MARGIN || (score - points.strict).abs() <= NEAR_THRESHOLD_MARGIN
}

impl Verifier {
    /// Under [`LiveFlip::NearThreshold`], re-embeds the capture's frames with their mirrors when
    /// their 1:1 score against `document` lies near a threshold; returns whether it did. The
    /// kept frames are released either way. Called before the decision, in the service and in
    /// `simkyc compare --live-frames` alike.
    pub fn settle_live_flip(&self, capture: &mut LiveCapture, document: Option<&[f32]>) -> Result<bool, FaceError> {
        let pending = std::mem::take(&mut capture.pending_mirrors);
        if self.live_flip != LiveFlip::NearThreshold {
            return Ok(false);
        }
        let Some(score) = document.and_then(|d| mean_score(&capture.embeddings(), d)) else { return Ok(false) };
        if !near_a_threshold(score, self.points) {
            return Ok(false);
        }
        for (frame, image) in capture.frames.iter_mut().zip(pending.0) {
            if let Some(subject) = frame.analysis.subject.as_mut() {
                subject.embedding = self.engine.add_mirror(&image, subject, &subject.embedding)?;
            }
        }
        capture.mirrored = true;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_from_booleans_and_names() {
        for (text, want) in [
            ("always", LiveFlip::Always),
            ("true", LiveFlip::Always),
            ("never", LiveFlip::Never),
            ("false", LiveFlip::Never),
            ("near-threshold", LiveFlip::NearThreshold),
        ] {
            assert_eq!(text.parse::<LiveFlip>().expect("parses"), want);
        }
        let err = "sometimes".parse::<LiveFlip>().expect_err("refused").to_string();
        assert!(err.contains("near-threshold") && err.contains("sometimes"), "{err}");
        #[derive(serde::Deserialize)]
        struct C {
            live_flip: LiveFlip,
        }
        let c = |t: &str| serde_json::from_str::<C>(&format!("{{\"live_flip\": {t}}}")).map(|c| c.live_flip);
        assert_eq!(c("true").expect("bool"), LiveFlip::Always);
        assert_eq!(c("false").expect("bool"), LiveFlip::Never);
        assert_eq!(c("\"near-threshold\"").expect("name"), LiveFlip::NearThreshold);
        assert!(c("3").is_err() && c("\"maybe\"").is_err());
        assert_eq!(serde_json::to_value(LiveFlip::NearThreshold).expect("json"), "near-threshold");
    }

    #[test]
    fn only_scores_near_a_point_need_the_mirrors() {
        let points = MatchPoints { default: 0.48, strict: 0.54 };
        for s in [0.40, 0.45, 0.48, 0.51, 0.56, 0.62] {
            assert!(near_a_threshold(s, points), "{s}");
        }
        for s in [-0.2, 0.1, 0.39, 0.63, 0.8] {
            assert!(!near_a_threshold(s, points), "{s}");
        }
    }
}
