//! The live capture as the service asks for it: how frames are checked (the capture mode), the
//! actions of an active challenge, and the requirements a client is given when a registration
//! starts (stored with the registration and checked when the capture arrives).

use serde::{Deserialize, Serialize};

/// How live frames are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureMode {
    /// A random sequence of actions checked on face-mesh tracks, plus everything `passive` does.
    Active,
    /// Frame quality, consistency and passive liveness, no challenge.
    Passive,
    /// Only a face is required (testing only).
    Off,
}

impl CaptureMode {
    /// Every mode.
    pub const ALL: [CaptureMode; 3] = [CaptureMode::Active, CaptureMode::Passive, CaptureMode::Off];

    /// Parses a mode name.
    pub fn parse(s: &str) -> Option<CaptureMode> {
        CaptureMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Active => "active",
            CaptureMode::Passive => "passive",
            CaptureMode::Off => "off",
        }
    }
}

impl std::fmt::Display for CaptureMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored name that is not a capture mode.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown capture mode {0:?} (active, passive or off)")]
pub struct UnknownCaptureMode(pub String);

impl std::str::FromStr for CaptureMode {
    type Err = UnknownCaptureMode;
    fn from_str(s: &str) -> Result<CaptureMode, UnknownCaptureMode> {
        CaptureMode::parse(s).ok_or_else(|| UnknownCaptureMode(s.to_string()))
    }
}

impl TryFrom<String> for CaptureMode {
    type Error = UnknownCaptureMode;
    fn try_from(s: String) -> Result<CaptureMode, UnknownCaptureMode> {
        CaptureMode::parse(&s).ok_or(UnknownCaptureMode(s))
    }
}

/// One action of an active challenge. Conventions: `turn_left` is the customer turning to
/// *their* left (the nose moves to the image's right in an unmirrored camera frame); `nod` is
/// looking down and back up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Close and open both eyes.
    Blink,
    /// Turn the head to the customer's left.
    TurnLeft,
    /// Turn the head to the customer's right.
    TurnRight,
    /// Open the mouth.
    OpenMouth,
    /// Look down, then back.
    Nod,
}

impl Action {
    /// Every action the server may ask for.
    pub const ALL: [Action; 5] = [Action::Blink, Action::TurnLeft, Action::TurnRight, Action::OpenMouth, Action::Nod];

    /// The action with this API name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Blink => "blink",
            Action::TurnLeft => "turn_left",
            Action::TurnRight => "turn_right",
            Action::OpenMouth => "open_mouth",
            Action::Nod => "nod",
        }
    }
}

/// What the client must send to `capture`, as given at the start and stored with the
/// registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRequirements {
    /// Check mode.
    pub mode: CaptureMode,
    /// Single-use value the capture must echo.
    pub nonce: String,
    /// Fewest frames.
    pub min_frames: usize,
    /// Most frames.
    pub max_frames: usize,
    /// Smallest inter-eye distance, pixels.
    pub min_eye_px: f64,
    /// When the capture stops being accepted (RFC 3339).
    pub expires_at: String,
    /// Active mode: the actions to perform, in this order, while frames are captured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// The same expiry in milliseconds since 1970, for the check at capture.
    pub expires_ms: i64,
}

/// Stored capture requirements that do not parse.
#[derive(Debug, thiserror::Error)]
#[error("stored capture requirements: {0}")]
pub struct BadRequirements(#[from] serde_json::Error);

impl TryFrom<String> for CaptureRequirements {
    type Error = BadRequirements;
    fn try_from(s: String) -> Result<CaptureRequirements, BadRequirements> {
        Ok(serde_json::from_str(&s)?)
    }
}

impl CaptureRequirements {
    /// The stored form (JSON text).
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the capture window has passed at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        now_ms >= self.expires_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in CaptureMode::ALL {
            assert_eq!(CaptureMode::try_from(m.as_str().to_string()).unwrap(), m);
        }
        assert!(CaptureMode::try_from("activ".to_string()).is_err());
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }

    #[test]
    fn requirements_round_trip_and_refuse_garbage() {
        let r = CaptureRequirements {
            mode: CaptureMode::Active,
            nonce: "n".into(),
            min_frames: 10,
            max_frames: 64,
            min_eye_px: 40.0,
            expires_at: "2026-12-01T00:00:00Z".into(),
            actions: vec![Action::Blink, Action::TurnLeft],
            expires_ms: 5,
        };
        assert_eq!(CaptureRequirements::try_from(r.to_json()).unwrap(), r);
        assert!(r.expired(5) && !r.expired(4));
        assert!(CaptureRequirements::try_from("{}".to_string()).is_err());
        assert!(CaptureRequirements::try_from(r.to_json().replace("turn_left", "jump")).is_err());
    }
}
