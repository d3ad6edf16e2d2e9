//! Tamper-evident audit log. Every event carries the SHA-256 of the event before it, and its own
//! hash covers all its fields and that link, so editing, deleting, reordering or inserting a row
//! breaks the chain at a point `verify` names. Storage appends events through [`Chain::append`]
//! under its own serialisation (one writer at a time) and verifies with [`verify`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Hash of the (empty) event before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom, to what. `details` must not hold personal data or image bytes:
/// reference subjects by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    /// When, as RFC 3339 UTC text (stored as given, so the hash is reproducible).
    pub at: String,
    /// Who: a staff key id, or `system`.
    pub actor: String,
    /// What: e.g. `registration.decided`, `template.read`, `key.revoked`.
    pub action: String,
    /// On what: e.g. `registration:42`.
    pub subject: String,
    /// Structured details (reason codes, scores), no personal data.
    pub details: serde_json::Value,
}

/// A stored event: its body, position and chain links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// The event's content.
    #[serde(flatten)]
    pub body: EventBody,
    /// Hash of the previous event (GENESIS for the first).
    pub prev_hash: String,
    /// Hash of this event.
    pub hash: String,
}

/// Why a chain failed verification, naming the first bad event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// An event's content no longer matches its hash (edited).
    #[error("audit event {seq} was modified: its hash does not match its content")]
    Modified {
        /// The event.
        seq: u64,
    },
    /// An event does not link to the one before it (deleted, inserted or reordered).
    #[error("audit event {seq} does not follow event {prev}: an event was deleted, inserted or reordered")]
    Broken {
        /// The event whose link is wrong.
        seq: u64,
        /// The event before it in the stored order.
        prev: u64,
    },
    /// The chain ends before the recorded head (newest events deleted) or differs from it.
    #[error("the audit log ends at event {last}, but its recorded head is event {head}: newer events were deleted or replaced")]
    Truncated {
        /// Last event found.
        last: u64,
        /// Last event according to the recorded head.
        head: u64,
    },
    /// Sequence numbers skip or repeat.
    #[error("audit event {seq} is out of sequence (expected {expected})")]
    Sequence {
        /// The event found.
        seq: u64,
        /// The sequence number expected there.
        expected: u64,
    },
}

/// The hash of an event: SHA-256 over a canonical JSON of its position, body and link.
pub fn hash_event(seq: u64, body: &EventBody, prev_hash: &str) -> String {
    // serde_json writes object keys of a Value in sorted order, so this is canonical.
    let canonical = serde_json::json!({
        "seq": seq, "at": body.at, "actor": body.actor, "action": body.action,
        "subject": body.subject, "details": body.details, "prev_hash": prev_hash,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The head of a chain, from which the next event is built.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Sequence number of the last event (0 when empty).
    pub last_seq: u64,
    /// Hash of the last event (GENESIS when empty).
    pub last_hash: String,
}

impl Default for Chain {
    fn default() -> Self {
        Chain { last_seq: 0, last_hash: GENESIS.to_string() }
    }
}

impl Chain {
    /// Resumes a chain from its last stored event.
    pub fn after(last: &Event) -> Chain {
        Chain { last_seq: last.seq, last_hash: last.hash.clone() }
    }

    /// Builds the next event and advances the head.
    pub fn append(&mut self, body: EventBody) -> Event {
        let seq = self.last_seq + 1;
        let prev_hash = std::mem::take(&mut self.last_hash);
        let hash = hash_event(seq, &body, &prev_hash);
        self.last_seq = seq;
        self.last_hash = hash.clone();
        Event { seq, body, prev_hash, hash }
    }
}

/// Verifies a whole chain in stored order; returns the number of events checked.
pub fn verify<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<u64, ChainError> {
    let mut expected_prev = GENESIS.to_string();
    let mut n = 0u64;
    for e in events {
        let expected_seq = n + 1;
        if e.seq != expected_seq {
            return Err(ChainError::Sequence { seq: e.seq, expected: expected_seq });
        }
        if hash_event(e.seq, &e.body, &e.prev_hash) != e.hash {
            return Err(ChainError::Modified { seq: e.seq });
        }
        if e.prev_hash != expected_prev {
            return Err(ChainError::Broken { seq: e.seq, prev: n });
        }
        expected_prev = e.hash.clone();
        n = expected_seq;
    }
    Ok(n)
}

/// Verifies a chain and checks that it ends at a head recorded elsewhere (a checkpoint, or the
/// head kept in a separate table): deleting the newest events leaves a valid but shorter chain,
/// which only this comparison reveals.
pub fn verify_with_head<'a>(events: impl IntoIterator<Item = &'a Event>, head: &Chain) -> Result<u64, ChainError> {
    let mut last: Option<&Event> = None;
    let n = verify(events.into_iter().inspect(|e| last = Some(*e)))?;
    let (seq, hash) = last.map(|e| (e.seq, e.hash.as_str())).unwrap_or((0, GENESIS));
    if seq != head.last_seq || hash != head.last_hash {
        return Err(ChainError::Truncated { last: seq, head: head.last_seq });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(i: u32) -> EventBody {
        EventBody {
            at: format!("2026-11-30T10:00:{i:02}Z"),
            actor: "key:7".into(),
            action: "registration.decided".into(),
            subject: format!("registration:{i}"),
            details: serde_json::json!({"decision": "review", "reasons": ["near_threshold"], "score": 0.84}),
        }
    }

    fn chain(n: u32) -> Vec<Event> {
        let mut c = Chain::default();
        (1..=n).map(|i| c.append(body(i))).collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_resumes() {
        let mut events = chain(5);
        assert_eq!(verify(&events), Ok(5));
        let mut c = Chain::after(events.last().unwrap());
        events.push(c.append(body(6)));
        assert_eq!(verify(&events), Ok(6));
        assert_eq!(verify(&Vec::new()), Ok(0));
    }

    #[test]
    fn edits_deletions_and_reordering_are_found_and_named() {
        let mut e = chain(5);
        e[2].body.details = serde_json::json!({"decision": "approved"});
        assert_eq!(verify(&e), Err(ChainError::Modified { seq: 3 }));

        // Editing and re-hashing one event still breaks the link of the next one.
        let mut e = chain(5);
        e[2].body.actor = "key:99".into();
        e[2].hash = hash_event(3, &e[2].body, &e[2].prev_hash);
        assert_eq!(verify(&e), Err(ChainError::Broken { seq: 4, prev: 3 }));

        let mut e = chain(5);
        e.remove(3);
        assert_eq!(verify(&e), Err(ChainError::Sequence { seq: 5, expected: 4 }));

        // Deleting the newest events leaves a valid chain; only the recorded head reveals it.
        let mut head = Chain::default();
        let mut e: Vec<Event> = (1..=5).map(|i| head.append(body(i))).collect();
        assert_eq!(verify_with_head(&e, &head), Ok(5));
        e.truncate(3);
        assert_eq!(verify(&e), Ok(3));
        assert_eq!(verify_with_head(&e, &head), Err(ChainError::Truncated { last: 3, head: 5 }));

        let mut e = chain(5);
        e.swap(1, 2);
        assert!(matches!(verify(&e), Err(ChainError::Sequence { seq: 3, expected: 2 })));
    }
}
