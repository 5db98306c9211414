//! Comparing a backend's trace with the oracle's: the first divergence and its signature.

use crate::trace::{Step, Trace};
use std::fmt;

/// A trace field, in the order fields are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Ret,
    Issued,
    Received,
    Resumed,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Ret => "ret",
            Field::Issued => "issued",
            Field::Received => "received",
            Field::Resumed => "resumed",
        }
    }

    /// This field of a step, as text (`null` for none).
    pub fn value(self, step: &Step) -> String {
        fn opt<T: ToString>(v: &Option<T>) -> String {
            v.as_ref().map_or_else(|| "null".into(), T::to_string)
        }
        match self {
            Field::Ret => opt(&step.ret),
            Field::Issued => step.issued.to_string(),
            Field::Received => step.received.to_string(),
            Field::Resumed => opt(&step.resumed),
        }
    }

    pub const ALL: [Field; 4] = [Field::Ret, Field::Issued, Field::Received, Field::Resumed];
}

/// The first step where a backend's trace differs from the oracle's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index of the step in the trace.
    pub index: usize,
    pub line: u32,
    /// The op in canonical text form.
    pub op: String,
    pub field: Field,
    pub oracle: String,
    pub other: String,
    pub signature: Signature,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: `{}`: {} is {} on the oracle, {} on {}",
            self.line,
            self.op,
            self.field.name(),
            self.oracle,
            self.other,
            self.signature.backend
        )
    }
}

/// What stays the same for the same cause.
///
/// For a return value: the backend, the op's keyword, and the two values' classes. For ticket
/// counts, one cause shows up at whichever op happens to move the bytes (a handshake step, a
/// read, a write), so the op is left out: the signature says `tickets`, the field, the
/// direction (`more`/`fewer`), whether the server's handshake had finished before the op, and
/// `resumed` when more tickets than OpenSSL's went out on a resumed connection. For `resumed`:
/// both values.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signature {
    pub backend: String,
    pub op: String,
    pub field: Field,
    pub relation: String,
}

impl Signature {
    /// The signature's text form, also the saved file's stem:
    /// `rustls-new_session_ticket-ret-1-vs-0`.
    pub fn key(&self) -> String {
        format!(
            "{}-{}-{}-{}",
            self.backend,
            self.op,
            self.field.name(),
            self.relation
        )
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A return value's class: its exact value where values mean something (-1, 0, 1), `n` for
/// counts of bytes or configured values.
fn ret_class(ret: Option<i128>) -> String {
    match ret {
        None => "null".into(),
        Some(-1) => "neg1".into(),
        Some(v @ 0..=1) => v.to_string(),
        Some(v) if v < 0 => "neg".into(),
        Some(_) => "n".into(),
    }
}

/// When a count moved: `in-handshake` if the server's handshake had not finished before the op
/// (the oracle's previous step has no `resumed` value), else `after-handshake`.
fn phase(previous: Option<&Step>) -> &'static str {
    if previous.is_some_and(|p| p.resumed.is_some()) {
        "after-handshake"
    } else {
        "in-handshake"
    }
}

fn relation(field: Field, oracle: &Step, other: &Step, previous: Option<&Step>) -> String {
    match field {
        Field::Ret => {
            let (a, b) = (ret_class(oracle.ret), ret_class(other.ret));
            if a == b {
                // Two different byte counts or values.
                if other.ret > oracle.ret {
                    "n-vs-more".into()
                } else {
                    "n-vs-less".into()
                }
            } else {
                format!("{a}-vs-{b}")
            }
        }
        Field::Issued | Field::Received => {
            let (a, b) = if field == Field::Issued {
                (oracle.issued, other.issued)
            } else {
                (oracle.received, other.received)
            };
            // More tickets than OpenSSL on a resumed connection breaks the man page's own cap
            // ("never more than 1"), a rule of its own; otherwise the kind of connection
            // does not tell causes apart.
            let capped = b > a && oracle.resumed == Some(true);
            format!(
                "{}-{}{}",
                if b > a { "more" } else { "fewer" },
                phase(previous),
                if capped { "-resumed" } else { "" }
            )
        }
        Field::Resumed => format!("{}-vs-{}", field.value(oracle), field.value(other)),
    }
}

/// The first divergence of `other` (run on `backend`) from `oracle`, if any.
pub fn first_divergence(oracle: &Trace, other: &Trace, backend: &str) -> Option<Divergence> {
    oracle
        .iter()
        .zip(other)
        .enumerate()
        .find_map(|(index, (a, b))| {
            let field = Field::ALL.into_iter().find(|f| f.value(a) != f.value(b))?;
            Some(Divergence {
                index,
                line: a.line,
                op: a.op.clone(),
                field,
                oracle: field.value(a),
                other: field.value(b),
                signature: Signature {
                    backend: backend.to_string(),
                    op: match field {
                        Field::Ret => match a.op.split(' ').next().unwrap_or("") {
                            // The same call, `SSL_do_handshake`.
                            "server_step" => "server_do_handshake".to_string(),
                            op => op.to_string(),
                        },
                        Field::Issued | Field::Received => "tickets".into(),
                        Field::Resumed => "session".into(),
                    },
                    field,
                    relation: relation(field, a, b, index.checked_sub(1).map(|i| &oracle[i])),
                },
            })
        })
}
