//! The active challenge: which actions the server asks for, and whether a sequence of face-mesh
//! signals shows them, in order. Conventions: `turn_left` is the customer turning to *their*
//! left (the nose moves to the image's right in an unmirrored camera frame); `nod` is looking
//! down and back up.

use serde::Serialize;

use crate::mesh::MeshSignals;

/// One requested action (the service's vocabulary, shared with the workflow rules).
pub use simkyc_workflow::Action;

/// Thresholds of the action detectors, relative to the sequence's own baseline (its median).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DetectorLimits {
    /// A blink: eye aspect ratio below this fraction of the baseline…
    pub blink_ratio: f32,
    /// …and below this absolute value.
    pub blink_max_ear: f32,
    /// A turn: yaw moved this far from the baseline (face widths).
    pub turn_delta: f32,
    /// An open mouth: opening at least this (lip gap / mouth width)…
    pub mouth_open: f32,
    /// …and this much above the baseline.
    pub mouth_delta: f32,
    /// A nod: pitch this much below (down) the baseline.
    pub nod_delta: f32,
    /// Frames that must separate consecutive actions (one movement cannot count as two steps).
    pub min_gap_frames: usize,
}

impl Default for DetectorLimits {
    fn default() -> Self {
        DetectorLimits {
            blink_ratio: 0.65,
            blink_max_ear: 0.2,
            turn_delta: 0.15,
            mouth_open: 0.3,
            mouth_delta: 0.2,
            nod_delta: 0.05,
            min_gap_frames: 2,
        }
    }
}

/// Why a challenge failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ChallengeFailure {
    /// An action was never seen.
    Missing(Action),
    /// The actions happened, but not in the requested order.
    OutOfOrder,
    /// Two actions were seen at (nearly) the same moment: one movement, not the steps asked.
    Simultaneous,
    /// Too few frames to judge.
    TooFewFrames,
}

impl std::fmt::Display for ChallengeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChallengeFailure::Missing(a) => write!(f, "the action {} was not seen", a.as_str()),
            ChallengeFailure::OutOfOrder => f.write_str("the actions were not done in the order asked"),
            ChallengeFailure::Simultaneous => f.write_str("two actions happened at the same moment; do them one after another"),
            ChallengeFailure::TooFewFrames => f.write_str("too few frames to see the actions"),
        }
    }
}

/// The middle value (the upper one of an even count); 0 for none.
pub(crate) fn median(v: Vec<f32>) -> f32 {
    crate::stats::median(v).unwrap_or(0.0)
}

/// The first frame at which each action is seen (None when never).
pub fn first_seen(track: &[MeshSignals], l: &DetectorLimits) -> [(Action, Option<usize>); 5] {
    let base = MeshSignals {
        ear: median(track.iter().map(|s| s.ear).collect()),
        mouth: median(track.iter().map(|s| s.mouth).collect()),
        yaw: median(track.iter().map(|s| s.yaw).collect()),
        pitch: median(track.iter().map(|s| s.pitch).collect()),
    };
    let find = |pred: &dyn Fn(&MeshSignals) -> bool| track.iter().position(pred);
    Action::ALL.map(|a| {
        let at = match a {
            Action::Blink => find(&|s| s.ear < base.ear * l.blink_ratio && s.ear < l.blink_max_ear),
            Action::TurnLeft => find(&|s| s.yaw - base.yaw >= l.turn_delta),
            Action::TurnRight => find(&|s| base.yaw - s.yaw >= l.turn_delta),
            Action::OpenMouth => find(&|s| s.mouth >= l.mouth_open && s.mouth - base.mouth >= l.mouth_delta),
            Action::Nod => find(&|s| s.pitch - base.pitch >= l.nod_delta),
        };
        (a, at)
    })
}

/// Checks that the track shows every requested action, in order.
pub fn verify(track: &[MeshSignals], requested: &[Action], l: &DetectorLimits) -> Result<Vec<usize>, ChallengeFailure> {
    if track.len() < 2 * requested.len() + 1 {
        return Err(ChallengeFailure::TooFewFrames);
    }
    let seen = first_seen(track, l);
    let mut at = Vec::with_capacity(requested.len());
    for a in requested {
        let frame = seen.iter().find(|(b, _)| b == a).and_then(|(_, f)| *f).ok_or(ChallengeFailure::Missing(*a))?;
        at.push(frame);
    }
    if at.windows(2).any(|w| w[0] > w[1]) {
        return Err(ChallengeFailure::OutOfOrder);
    }
    if at.windows(2).any(|w| w[1] - w[0] < l.min_gap_frames) {
        return Err(ChallengeFailure::Simultaneous);
    }
    Ok(at)
}

/// Picks up to `n` different actions from `allowed` (distinct actions) with a random source.
pub fn pick(allowed: &[Action], n: usize, random: &mut dyn FnMut() -> u32) -> Vec<Action> {
    let mut pool = allowed.to_vec();
    let mut out = Vec::with_capacity(n);
    while out.len() < n && !pool.is_empty() {
        let i = (random() as usize) % pool.len();
        out.push(pool.remove(i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neutral() -> MeshSignals {
        MeshSignals { ear: 0.3, mouth: 0.05, yaw: 0.0, pitch: 0.5 }
    }

    /// A track: neutral frames with the given actions performed at given frames (2 frames each).
    fn track(len: usize, events: &[(Action, usize)]) -> Vec<MeshSignals> {
        let mut t = vec![neutral(); len];
        for &(a, at) in events {
            for s in &mut t[at..(at + 2).min(len)] {
                match a {
                    Action::Blink => s.ear = 0.08,
                    Action::TurnLeft => s.yaw = 0.3,
                    Action::TurnRight => s.yaw = -0.3,
                    Action::OpenMouth => s.mouth = 0.5,
                    Action::Nod => s.pitch = 0.6,
                }
            }
        }
        t
    }

    #[test]
    fn actions_in_order_pass() {
        let l = DetectorLimits::default();
        let t = track(30, &[(Action::Blink, 5), (Action::TurnLeft, 12), (Action::OpenMouth, 20)]);
        assert_eq!(verify(&t, &[Action::Blink, Action::TurnLeft, Action::OpenMouth], &l), Ok(vec![5, 12, 20]));
        let t = track(30, &[(Action::TurnRight, 4), (Action::Nod, 15)]);
        assert_eq!(verify(&t, &[Action::TurnRight, Action::Nod], &l), Ok(vec![4, 15]));
    }

    #[test]
    fn missing_wrong_side_and_out_of_order_fail() {
        let l = DetectorLimits::default();
        let t = track(30, &[(Action::Blink, 5), (Action::TurnLeft, 12)]);
        assert_eq!(
            verify(&t, &[Action::Blink, Action::TurnLeft, Action::OpenMouth], &l),
            Err(ChallengeFailure::Missing(Action::OpenMouth))
        );
        assert_eq!(verify(&t, &[Action::TurnLeft, Action::Blink], &l), Err(ChallengeFailure::OutOfOrder));
        assert_eq!(verify(&t, &[Action::TurnRight], &l), Err(ChallengeFailure::Missing(Action::TurnRight)));
        // One diagonal movement (turn and nod together) is not two steps.
        let t = track(30, &[(Action::TurnLeft, 10), (Action::Nod, 10)]);
        assert_eq!(verify(&t, &[Action::TurnLeft, Action::Nod], &l), Err(ChallengeFailure::Simultaneous));
        // A still photo: no action at all.
        assert_eq!(verify(&vec![neutral(); 30], &[Action::Blink, Action::Nod], &l), Err(ChallengeFailure::Missing(Action::Blink)));
        assert_eq!(verify(&[neutral(); 3], &[Action::Blink, Action::Nod], &l), Err(ChallengeFailure::TooFewFrames));
    }

    #[test]
    fn small_jitter_is_not_an_action() {
        let l = DetectorLimits::default();
        let t: Vec<_> = (0..30)
            .map(|i| MeshSignals {
                ear: 0.28 + 0.02 * ((i % 3) as f32 - 1.0),
                mouth: 0.05,
                yaw: 0.03 * ((i % 5) as f32 - 2.0) / 2.0,
                pitch: 0.5,
            })
            .collect();
        assert!(first_seen(&t, &l).iter().all(|(_, f)| f.is_none()), "{:?}", first_seen(&t, &l));
    }

    #[test]
    fn picks_distinct_actions() {
        let mut x = 7u32;
        let mut rnd = || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            x >> 8
        };
        for _ in 0..50 {
            let p = pick(&Action::ALL, 3, &mut rnd);
            assert_eq!(p.len(), 3);
            assert!(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
        }
        let turns = [Action::TurnLeft, Action::TurnRight];
        let p = pick(&turns, 3, &mut rnd);
        assert_eq!(p.len(), 2, "no more than the allowed actions");
        assert!(p.iter().all(|a| turns.contains(a)) && p[0] != p[1]);
        assert_eq!(Action::parse("open_mouth"), Some(Action::OpenMouth));
        assert_eq!(Action::parse("smile"), None);
    }
}
