//! Staff roles and what each may do. The API checks these on every request; the console only
//! mirrors them.

use serde::{Deserialize, Serialize};

/// A staff role, fixed when the API key is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Registers subscribers, activates and ends SIMs, looks up a subscriber's numbers.
    Clerk,
    /// Decides the cases sent to manual review.
    Reviewer,
    /// Reads and verifies the audit log.
    Auditor,
    /// Manages keys and settings of its operator.
    Admin,
}

/// One thing an API caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Start a registration, submit its capture, activate or cancel it.
    Register,
    /// Read a registration's status and decision (no photos).
    ReadRegistration,
    /// End a SIM contract.
    TerminateSim,
    /// List the numbers registered to a document.
    LookupSubscriber,
    /// List and read review cases, including both photos.
    ReadReviewCase,
    /// Decide a review case.
    DecideReview,
    /// Read the audit log and verify its chain.
    ReadAudit,
    /// Create and revoke keys, change operator settings.
    Administer,
}

impl Role {
    /// All roles, for listings and parsing.
    pub const ALL: [Role; 4] = [Role::Clerk, Role::Reviewer, Role::Auditor, Role::Admin];

    /// The role's name as used in keys, the CLI and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Reviewer => "reviewer",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role holds a permission (least privilege: an auditor registers no one, a clerk
    /// reads no audit log, nobody but a reviewer decides a review).
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Clerk => matches!(p, Register | ReadRegistration | TerminateSim | LookupSubscriber),
            Role::Reviewer => matches!(p, ReadRegistration | ReadReviewCase | DecideReview),
            Role::Auditor => matches!(p, ReadRegistration | ReadAudit),
            Role::Admin => matches!(p, Administer | ReadAudit | ReadRegistration),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_privilege() {
        assert!(Role::Clerk.allows(Permission::Register));
        assert!(!Role::Clerk.allows(Permission::ReadAudit));
        assert!(!Role::Clerk.allows(Permission::DecideReview));
        assert!(!Role::Auditor.allows(Permission::Register));
        assert!(Role::Auditor.allows(Permission::ReadAudit));
        assert!(!Role::Reviewer.allows(Permission::Register));
        assert!(!Role::Admin.allows(Permission::Register));
        assert!(!Role::Admin.allows(Permission::ReadReviewCase));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
