//! The registration state machine: created → captured → approved / rejected / review →
//! activated or cancelled. Every change goes through [`RegistrationState::transition`].

use serde::{Deserialize, Serialize};

/// Where a registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationState {
    /// Document accepted, waiting for the live capture.
    Created,
    /// Live frames received, being decided.
    Captured,
    /// Decided: may be activated.
    Approved,
    /// Decided: refused (final).
    Rejected,
    /// Decided: waits for a reviewer.
    Review,
    /// A SIM was activated on it (final).
    Activated,
    /// Abandoned before activation (final).
    Cancelled,
}

/// A stored name that is not a state.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown registration state {0:?}")]
pub struct UnknownState(pub String);

impl TryFrom<String> for RegistrationState {
    type Error = UnknownState;
    fn try_from(s: String) -> Result<RegistrationState, UnknownState> {
        RegistrationState::parse(&s).ok_or(UnknownState(s))
    }
}

/// A state change the machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a registration in state {from} cannot become {to}")]
pub struct TransitionError {
    /// Current state.
    pub from: RegistrationState,
    /// Requested state.
    pub to: RegistrationState,
}

impl RegistrationState {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationState::Created => "created",
            RegistrationState::Captured => "captured",
            RegistrationState::Approved => "approved",
            RegistrationState::Rejected => "rejected",
            RegistrationState::Review => "review",
            RegistrationState::Activated => "activated",
            RegistrationState::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<RegistrationState> {
        use RegistrationState::*;
        [Created, Captured, Approved, Rejected, Review, Activated, Cancelled].into_iter().find(|x| x.as_str() == s)
    }

    /// The states this one may move to.
    pub fn next_states(self) -> &'static [RegistrationState] {
        use RegistrationState::*;
        match self {
            Created => &[Captured, Cancelled],
            Captured => &[Approved, Rejected, Review],
            Approved => &[Activated, Cancelled],
            Review => &[Approved, Rejected, Cancelled],
            Rejected | Activated | Cancelled => &[],
        }
    }

    /// Checks a state change.
    pub fn transition(self, to: RegistrationState) -> Result<RegistrationState, TransitionError> {
        if self.next_states().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// Whether a registration in this state has been decided (approved, rejected or review).
    pub fn is_decided(self) -> bool {
        matches!(self, RegistrationState::Approved | RegistrationState::Rejected | RegistrationState::Review)
    }

    /// Whether no further change is possible.
    pub fn is_final(self) -> bool {
        self.next_states().is_empty()
    }
}

impl std::fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::RegistrationState::*;

    #[test]
    fn only_documented_paths() {
        assert!(Created.transition(Captured).is_ok());
        assert!(Captured.transition(Review).is_ok());
        assert!(Review.transition(Approved).is_ok());
        assert!(Approved.transition(Activated).is_ok());
        assert!(Created.transition(Activated).is_err());
        assert!(Rejected.transition(Approved).is_err());
        assert!(Review.transition(Activated).is_err());
        assert!(Activated.transition(Cancelled).is_err());
        assert!(Activated.is_final() && Rejected.is_final() && Cancelled.is_final());
        for s in [Created, Captured, Approved, Rejected, Review, Activated, Cancelled] {
            assert_eq!(super::RegistrationState::parse(s.as_str()), Some(s));
        }
    }
}
