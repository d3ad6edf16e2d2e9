//! How the checks of a capture combine into approved / rejected / review. Any refusing reason
//! rejects; otherwise any reason that needs a person sends the case to review; otherwise it is
//! approved. A 1:N duplicate hit only ever sends to review.

use serde::{Deserialize, Serialize};

pub use crate::reason::{Reason, ReasonCode, Severity};

/// The outcome of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check passed.
    Approved,
    /// At least one check refused.
    Rejected,
    /// A person must decide.
    Review,
}

impl Outcome {
    /// API and metric name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
            Outcome::Review => "review",
        }
    }
}

impl From<Outcome> for crate::RegistrationState {
    fn from(o: Outcome) -> crate::RegistrationState {
        match o {
            Outcome::Approved => crate::RegistrationState::Approved,
            Outcome::Rejected => crate::RegistrationState::Rejected,
            Outcome::Review => crate::RegistrationState::Review,
        }
    }
}

/// A stored name that is not an outcome.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown decision {0:?}")]
pub struct UnknownOutcome(pub String);

impl TryFrom<String> for Outcome {
    type Error = UnknownOutcome;
    fn try_from(s: String) -> Result<Outcome, UnknownOutcome> {
        [Outcome::Approved, Outcome::Rejected, Outcome::Review].into_iter().find(|o| o.as_str() == s).ok_or(UnknownOutcome(s))
    }
}

/// The calibrated 1:1 operating points (cosine scores of the deployed pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchPoints {
    /// Threshold at FMR 1e-3: below it the faces do not match.
    pub default: f32,
    /// Threshold at FMR 1e-4: at or above it the faces match without review.
    pub strict: f32,
}

/// A registered template of another identity that resembles the live face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateHit {
    /// The registration that enrolled the other template.
    pub registration_id: String,
    /// Similarity to the live face.
    pub score: f32,
}

/// Everything the capture step measured, ready to decide.
#[derive(Debug, Clone, Default)]
pub struct CheckResults {
    /// Document failures (normally none: documents are checked when the registration starts).
    pub document: Vec<Reason>,
    /// Capture quality and liveness failures.
    pub capture: Vec<Reason>,
    /// 1:1 similarity of live face and document photo, when both could be embedded.
    pub match_score: Option<f32>,
    /// 1:N hits against other identities.
    pub duplicates: Vec<DuplicateHit>,
    /// Active SIMs this document already holds at the operator.
    pub active_sims: u32,
    /// The operator's limit.
    pub sim_limit: u32,
}

/// A decision with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Approved, rejected or review.
    pub outcome: Outcome,
    /// Every reason found, refusing ones first.
    pub reasons: Vec<Reason>,
    /// One message for the clerk.
    pub message: String,
}

/// Combines the checks into a decision.
pub fn decide(c: &CheckResults, points: MatchPoints) -> Decision {
    let mut reasons: Vec<Reason> = c.document.iter().chain(&c.capture).cloned().collect();
    if let Some(score) = c.match_score {
        if score < points.default {
            reasons.push(Reason::new(ReasonCode::FaceMismatch, Severity::Reject, "the live face does not match the document photo"));
        } else if score < points.strict {
            reasons.push(Reason::new(
                ReasonCode::FaceMatchUncertain,
                Severity::Review,
                "the live face probably matches the document photo, but not with enough certainty: a reviewer will compare them",
            ));
        }
    } else if c.capture.is_empty() {
        reasons.push(Reason::new(ReasonCode::FaceMatchUnavailable, Severity::Reject, "the faces could not be compared; capture again"));
    }
    if !c.duplicates.is_empty() {
        reasons.push(Reason::new(
            ReasonCode::DuplicateFace,
            Severity::Review,
            format!("the face resembles {} registration(s) under a different identity: a reviewer will check", c.duplicates.len()),
        ));
    }
    if c.active_sims >= c.sim_limit {
        reasons.push(Reason::new(
            ReasonCode::SimLimitReached,
            Severity::Reject,
            format!("this document already holds {} active SIM(s), the operator's limit is {}", c.active_sims, c.sim_limit),
        ));
    }
    reasons.sort_by_key(|r| r.severity != Severity::Reject);
    let outcome = if reasons.iter().any(|r| r.severity == Severity::Reject) {
        Outcome::Rejected
    } else if reasons.is_empty() {
        Outcome::Approved
    } else {
        Outcome::Review
    };
    let message = match outcome {
        Outcome::Approved => "All checks passed: the SIM can be activated.".to_string(),
        _ => reasons.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "),
    };
    Decision { outcome, reasons, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: MatchPoints = MatchPoints { default: 0.80, strict: 0.85 };

    fn base(score: f32) -> CheckResults {
        CheckResults { match_score: Some(score), sim_limit: 5, ..Default::default() }
    }

    fn codes(d: &Decision) -> Vec<&str> {
        d.reasons.iter().map(|r| r.code.as_str()).collect()
    }

    #[test]
    fn operating_points() {
        assert_eq!(decide(&base(0.90), P).outcome, Outcome::Approved);
        assert_eq!(decide(&base(0.85), P).outcome, Outcome::Approved);
        let d = decide(&base(0.82), P);
        assert_eq!((d.outcome, codes(&d)), (Outcome::Review, vec!["face_match_uncertain"]));
        let d = decide(&base(0.79), P);
        assert_eq!((d.outcome, codes(&d)), (Outcome::Rejected, vec!["face_mismatch"]));
    }

    #[test]
    fn duplicates_only_review() {
        let mut c = base(0.95);
        c.duplicates.push(DuplicateHit { registration_id: "r1".into(), score: 0.99 });
        let d = decide(&c, P);
        assert_eq!((d.outcome, codes(&d)), (Outcome::Review, vec!["duplicate_face"]));
    }

    #[test]
    fn rejections_win_and_come_first() {
        let mut c = base(0.82);
        c.duplicates.push(DuplicateHit { registration_id: "r1".into(), score: 0.9 });
        c.active_sims = 5;
        let d = decide(&c, P);
        assert_eq!(d.outcome, Outcome::Rejected);
        assert_eq!(codes(&d), ["sim_limit_reached", "face_match_uncertain", "duplicate_face"]);
        assert!(d.message.contains("limit is 5"));
    }

    #[test]
    fn capture_failures_reject_without_score() {
        let c = CheckResults {
            capture: vec![Reason::new(ReasonCode::LiveNoFace, Severity::Reject, "no face")],
            sim_limit: 5,
            ..Default::default()
        };
        let d = decide(&c, P);
        assert_eq!((d.outcome, codes(&d)), (Outcome::Rejected, vec!["live_no_face"]));
        let none = CheckResults { sim_limit: 5, ..Default::default() };
        assert_eq!(codes(&decide(&none, P)), ["face_match_unavailable"]);
    }
}
