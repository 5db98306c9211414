//! Signatures: what stays the same for the same cause, so that one cause is saved once.
//!
//! The text form is also the saved entry's file stem, so [`Display`](fmt::Display) and
//! [`FromStr`] round-trip exactly:
//!
//! | kind | text |
//! |---|---|
//! | return value | `BACKEND-OP-ret-A-vs-B`, or `BACKEND-OP-ret-A-vs-more\|fewer` for two values of one class |
//! | ticket count | `BACKEND-tickets-issued\|received-more\|fewer-in-handshake\|after-handshake[-resumed]` |
//! | resumption | `BACKEND-session-resumed-A-vs-B` (`true`, `false`, `null`) |
//! | new-session callback | `BACKEND-notified-more\|fewer-in-handshake\|after-handshake` |
//! | early data | `BACKEND-early-A-vs-B` (`accepted`, `rejected`, `not_sent`, `null`) |
//! | worker crash | `BACKEND-crash-in-OP` |
//! | worker hang | `BACKEND-hang-in-OP` |

use crate::backend::BackendId;
use crate::program::OpKind;
use crate::trace::{EarlyStatus, Field};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The class of a return value. For reads and writes a positive value is a byte count
/// (`bytes`); elsewhere -1, 0 and 1 are codes with meanings of their own and anything else is a
/// configured value (`n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetClass {
    Null,
    Neg1,
    Zero,
    One,
    Bytes,
    N,
    Neg,
}

impl RetClass {
    const ALL: [RetClass; 7] = [
        RetClass::Null,
        RetClass::Neg1,
        RetClass::Zero,
        RetClass::One,
        RetClass::Bytes,
        RetClass::N,
        RetClass::Neg,
    ];

    pub fn of(op: OpKind, ret: Option<i128>) -> RetClass {
        match ret {
            None => RetClass::Null,
            Some(-1) => RetClass::Neg1,
            Some(0) => RetClass::Zero,
            Some(v) if v > 0 && op.moves_bytes() => RetClass::Bytes,
            Some(1) => RetClass::One,
            Some(v) if v < 0 => RetClass::Neg,
            Some(_) => RetClass::N,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RetClass::Null => "null",
            RetClass::Neg1 => "neg1",
            RetClass::Zero => "0",
            RetClass::One => "1",
            RetClass::Bytes => "bytes",
            RetClass::N => "n",
            RetClass::Neg => "neg",
        }
    }

    fn parse(s: &str) -> Option<RetClass> {
        RetClass::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// How the other backend's return value compares with the oracle's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetOther {
    /// A value of another class.
    Class(RetClass),
    /// A larger value of the same class (more bytes, a larger count).
    More,
    /// A smaller value of the same class.
    Fewer,
}

/// Which ticket count differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TicketField {
    Issued,
    Received,
}

impl TicketField {
    pub fn field(self) -> Field {
        match self {
            TicketField::Issued => Field::Issued,
            TicketField::Received => Field::Received,
        }
    }
}

/// Whether the other backend's count is above or below the oracle's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    More,
    Fewer,
}

/// When a count moved: before the server's handshake had finished, or after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    InHandshake,
    AfterHandshake,
}

/// The cause of a finding.
///
/// For a return value: the backend, the OpenSSL call and the two values' classes. For ticket
/// counts, one cause shows up at whichever op happens to move the bytes (a handshake step, a
/// read, a write), so the op is left out: the field, the direction, the phase, and whether more
/// tickets than OpenSSL's went out on a resumed connection (the man page's own cap). For
/// `resumed`: both values. A backend in a worker process can also crash or hang in an op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signature {
    Ret {
        backend: BackendId,
        /// Always an [`OpKind::call`]: `server_step` is filed as `server_do_handshake`.
        op: OpKind,
        oracle: RetClass,
        other: RetOther,
    },
    Tickets {
        backend: BackendId,
        field: TicketField,
        direction: Direction,
        phase: Phase,
        /// More tickets than the oracle's on a resumed connection.
        over_resumed_cap: bool,
    },
    Session {
        backend: BackendId,
        oracle: Option<bool>,
        other: Option<bool>,
    },
    /// The server's new-session callback ran more or fewer times than the oracle's.
    Notified {
        backend: BackendId,
        direction: Direction,
        phase: Phase,
    },
    /// The server's early-data status differs.
    Early {
        backend: BackendId,
        oracle: Option<EarlyStatus>,
        other: Option<EarlyStatus>,
    },
    Crash {
        backend: BackendId,
        op: OpKind,
    },
    Hang {
        backend: BackendId,
        op: OpKind,
    },
}

impl Signature {
    pub fn backend(&self) -> BackendId {
        match *self {
            Signature::Ret { backend, .. }
            | Signature::Tickets { backend, .. }
            | Signature::Session { backend, .. }
            | Signature::Notified { backend, .. }
            | Signature::Early { backend, .. }
            | Signature::Crash { backend, .. }
            | Signature::Hang { backend, .. } => backend,
        }
    }

    /// The trace field that differs (none for a crash or a hang).
    pub fn field(&self) -> Option<Field> {
        match self {
            Signature::Ret { .. } => Some(Field::Ret),
            Signature::Tickets { field, .. } => Some(field.field()),
            Signature::Session { .. } => Some(Field::Resumed),
            Signature::Notified { .. } => Some(Field::Notified),
            Signature::Early { .. } => Some(Field::Early),
            Signature::Crash { .. } | Signature::Hang { .. } => None,
        }
    }
}

fn resumed_text(v: Option<bool>) -> &'static str {
    match v {
        None => "null",
        Some(true) => "true",
        Some(false) => "false",
    }
}

fn early_text(v: Option<EarlyStatus>) -> &'static str {
    v.map_or("null", EarlyStatus::name)
}

fn parse_early(s: &str) -> Option<Option<EarlyStatus>> {
    match s {
        "null" => Some(None),
        _ => EarlyStatus::from_name(s).map(Some),
    }
}

fn direction_text(d: Direction) -> &'static str {
    match d {
        Direction::More => "more",
        Direction::Fewer => "fewer",
    }
}

fn parse_direction(s: &str) -> Option<Direction> {
    match s {
        "more" => Some(Direction::More),
        "fewer" => Some(Direction::Fewer),
        _ => None,
    }
}

fn phase_text(p: Phase) -> &'static str {
    match p {
        Phase::InHandshake => "in-handshake",
        Phase::AfterHandshake => "after-handshake",
    }
}

fn parse_phase(s: &str) -> Option<Phase> {
    match s {
        "in-handshake" => Some(Phase::InHandshake),
        "after-handshake" => Some(Phase::AfterHandshake),
        _ => None,
    }
}

fn parse_resumed(s: &str) -> Option<Option<bool>> {
    match s {
        "null" => Some(None),
        "true" => Some(Some(true)),
        "false" => Some(Some(false)),
        _ => None,
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Signature::Ret {
                backend,
                op,
                oracle,
                other,
            } => {
                let other = match other {
                    RetOther::Class(c) => c.name(),
                    RetOther::More => "more",
                    RetOther::Fewer => "fewer",
                };
                write!(f, "{backend}-{op}-ret-{}-vs-{other}", oracle.name())
            }
            Signature::Tickets {
                backend,
                field,
                direction,
                phase,
                over_resumed_cap,
            } => {
                let field = match field {
                    TicketField::Issued => "issued",
                    TicketField::Received => "received",
                };
                let direction = direction_text(direction);
                let phase = phase_text(phase);
                let cap = if over_resumed_cap { "-resumed" } else { "" };
                write!(f, "{backend}-tickets-{field}-{direction}-{phase}{cap}")
            }
            Signature::Session {
                backend,
                oracle,
                other,
            } => write!(
                f,
                "{backend}-session-resumed-{}-vs-{}",
                resumed_text(oracle),
                resumed_text(other)
            ),
            Signature::Notified {
                backend,
                direction,
                phase,
            } => write!(
                f,
                "{backend}-notified-{}-{}",
                direction_text(direction),
                phase_text(phase)
            ),
            Signature::Early {
                backend,
                oracle,
                other,
            } => write!(
                f,
                "{backend}-early-{}-vs-{}",
                early_text(oracle),
                early_text(other)
            ),
            Signature::Crash { backend, op } => write!(f, "{backend}-crash-in-{op}"),
            Signature::Hang { backend, op } => write!(f, "{backend}-hang-in-{op}"),
        }
    }
}

/// Text that is no signature.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a signature (expected BACKEND-OP-ret-A-vs-B, BACKEND-tickets-..., BACKEND-session-resumed-A-vs-B, BACKEND-notified-..., BACKEND-early-A-vs-B, BACKEND-crash-in-OP or BACKEND-hang-in-OP)")]
pub struct BadSignature(pub String);

impl FromStr for Signature {
    type Err = BadSignature;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s).ok_or_else(|| BadSignature(s.to_string()))
    }
}

fn parse(s: &str) -> Option<Signature> {
    // A backend's name may itself contain `-` and be the start of another's (`openssl`,
    // `openssl-3.6`): the longest name whose rest reads as a signature wins.
    let mut names: Vec<BackendId> = BackendId::ALL.to_vec();
    names.sort_by_key(|b| std::cmp::Reverse(b.name().len()));
    names.into_iter().find_map(|backend| {
        let rest = s.strip_prefix(backend.name())?.strip_prefix('-')?;
        parse_rest(backend, rest)
    })
}

fn parse_rest(backend: BackendId, rest: &str) -> Option<Signature> {
    if let Some(rest) = rest.strip_prefix("tickets-") {
        let (field, rest) = rest.split_once('-')?;
        let (direction, rest) = rest.split_once('-')?;
        let (phase, over_resumed_cap) = match rest.strip_suffix("-resumed") {
            Some(phase) => (phase, true),
            None => (rest, false),
        };
        return Some(Signature::Tickets {
            backend,
            field: match field {
                "issued" => TicketField::Issued,
                "received" => TicketField::Received,
                _ => return None,
            },
            direction: parse_direction(direction)?,
            phase: parse_phase(phase)?,
            over_resumed_cap,
        });
    }
    if let Some(rest) = rest.strip_prefix("notified-") {
        let (direction, phase) = rest.split_once('-')?;
        return Some(Signature::Notified {
            backend,
            direction: parse_direction(direction)?,
            phase: parse_phase(phase)?,
        });
    }
    if let Some(rest) = rest.strip_prefix("early-") {
        let (oracle, other) = rest.split_once("-vs-")?;
        let (oracle, other) = (parse_early(oracle)?, parse_early(other)?);
        if oracle == other {
            return None;
        }
        return Some(Signature::Early {
            backend,
            oracle,
            other,
        });
    }
    if let Some(rest) = rest.strip_prefix("session-resumed-") {
        let (oracle, other) = rest.split_once("-vs-")?;
        return Some(Signature::Session {
            backend,
            oracle: parse_resumed(oracle)?,
            other: parse_resumed(other)?,
        });
    }
    if let Some(op) = rest.strip_prefix("crash-in-") {
        return Some(Signature::Crash {
            backend,
            op: op.parse().ok()?,
        });
    }
    if let Some(op) = rest.strip_prefix("hang-in-") {
        return Some(Signature::Hang {
            backend,
            op: op.parse().ok()?,
        });
    }
    let (op, rest) = rest.split_once("-ret-")?;
    let op: OpKind = op.parse().ok()?;
    let (oracle, other) = rest.split_once("-vs-")?;
    let oracle = RetClass::parse(oracle)?;
    let other = match other {
        "more" => RetOther::More,
        "fewer" => RetOther::Fewer,
        class => RetOther::Class(RetClass::parse(class)?),
    };
    // A class against itself is written as more/fewer, and `server_step` as its call: anything
    // else would give one cause two names.
    if other == RetOther::Class(oracle) || op.call() != op {
        return None;
    }
    Some(Signature::Ret {
        backend,
        op,
        oracle,
        other,
    })
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every signature of every kind for one backend.
    fn all(backend: BackendId) -> Vec<Signature> {
        let mut out = Vec::new();
        for op in OpKind::ALL.into_iter().filter(|op| op.call() == *op) {
            for oracle in RetClass::ALL {
                let others = RetClass::ALL
                    .into_iter()
                    .filter(|c| *c != oracle)
                    .map(RetOther::Class)
                    .chain([RetOther::More, RetOther::Fewer]);
                for other in others {
                    out.push(Signature::Ret {
                        backend,
                        op,
                        oracle,
                        other,
                    });
                }
            }
        }
        for op in OpKind::ALL {
            out.push(Signature::Crash { backend, op });
            out.push(Signature::Hang { backend, op });
        }
        for field in [TicketField::Issued, TicketField::Received] {
            for direction in [Direction::More, Direction::Fewer] {
                for phase in [Phase::InHandshake, Phase::AfterHandshake] {
                    for over_resumed_cap in [false, true] {
                        out.push(Signature::Tickets {
                            backend,
                            field,
                            direction,
                            phase,
                            over_resumed_cap,
                        });
                    }
                }
            }
        }
        for direction in [Direction::More, Direction::Fewer] {
            for phase in [Phase::InHandshake, Phase::AfterHandshake] {
                out.push(Signature::Notified {
                    backend,
                    direction,
                    phase,
                });
            }
        }
        let early = [None].into_iter().chain(EarlyStatus::ALL.map(Some));
        for oracle in early.clone() {
            for other in early.clone().filter(|o| *o != oracle) {
                out.push(Signature::Early {
                    backend,
                    oracle,
                    other,
                });
            }
        }
        let values = [None, Some(false), Some(true)];
        for oracle in values {
            for other in values {
                out.push(Signature::Session {
                    backend,
                    oracle,
                    other,
                });
            }
        }
        out
    }

    #[test]
    fn every_signature_round_trips_through_its_text() {
        let mut texts = std::collections::HashSet::new();
        for backend in BackendId::ALL {
            for sig in all(backend) {
                let text = sig.to_string();
                assert_eq!(text.parse::<Signature>(), Ok(sig), "{text}");
                assert!(texts.insert(text.clone()), "two signatures print as {text}");
                assert!(!text.contains(' ') && !text.contains('/'), "{text}");
            }
        }
    }

    #[test]
    fn the_saved_names_parse_as_their_kinds() {
        let sig: Signature = "rustls-new_session_ticket-ret-1-vs-0".parse().unwrap();
        assert_eq!(
            sig,
            Signature::Ret {
                backend: BackendId::Rustls,
                op: OpKind::NewSessionTicket,
                oracle: RetClass::One,
                other: RetOther::Class(RetClass::Zero),
            }
        );
        let sig: Signature = "rustls-server_read-ret-bytes-vs-more".parse().unwrap();
        assert!(matches!(
            sig,
            Signature::Ret {
                other: RetOther::More,
                ..
            }
        ));
        let sig: Signature = "native-tickets-issued-more-after-handshake-resumed"
            .parse()
            .unwrap();
        assert_eq!(
            sig,
            Signature::Tickets {
                backend: BackendId::Native,
                field: TicketField::Issued,
                direction: Direction::More,
                phase: Phase::AfterHandshake,
                over_resumed_cap: true,
            }
        );
        assert_eq!(sig.field(), Some(Field::Issued));
        let sig: Signature = "rustls-session-resumed-false-vs-true".parse().unwrap();
        assert_eq!(sig.field(), Some(Field::Resumed));
        assert_eq!(sig.backend(), BackendId::Rustls);
        let sig: Signature = "rustls-early-accepted-vs-rejected".parse().unwrap();
        assert_eq!(sig.field(), Some(Field::Early));
        let sig: Signature = "native-notified-fewer-after-handshake".parse().unwrap();
        assert_eq!(sig.field(), Some(Field::Notified));
    }

    #[test]
    fn near_misses_are_refused() {
        for text in [
            "",
            "rustls",
            "boringssl-handshake-ret-1-vs-0",
            "rustls-handshake-ret-1-vs-1",
            "rustls-server_step-ret-1-vs-0",
            "rustls-handshak-ret-1-vs-0",
            "rustls-handshake-ret-2-vs-0",
            "rustls-handshake-rett-1-vs-0",
            "rustls-tickets-issued-more-in-handshake-resumedd",
            "rustls-tickets-sent-more-in-handshake",
            "rustls-tickets-issued-lots-in-handshake",
            "rustls-tickets-issued-more-during-handshake",
            "rustls-session-resumed-yes-vs-no",
            "rustls-crash-in-nothing",
            "rustls-hang-in-",
            "rustls-notified-more",
            "rustls-notified-more-during-handshake",
            "rustls-early-accepted-vs-accepted",
            "rustls-early-accepted-vs-yes",
        ] {
            let e = text.parse::<Signature>().unwrap_err();
            assert_eq!(e, BadSignature(text.to_string()));
        }
    }
}
