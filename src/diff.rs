//! Comparing a backend's trace with the oracle's: the first divergence and its signature.

use crate::backend::BackendId;
use crate::finding::{
    Difference, Direction, Divergence, Phase, RetClass, RetOther, Signature, TicketField,
};
use crate::trace::{first_difference, Field, Step, Trace};

/// When a count moved: in the handshake if the server's handshake had not finished before the
/// op (the oracle's previous step has no `resumed` value), else after it.
fn phase(previous: Option<&Step>) -> Phase {
    if previous.is_some_and(|p| p.resumed.is_some()) {
        Phase::AfterHandshake
    } else {
        Phase::InHandshake
    }
}

fn signature(
    backend: BackendId,
    field: Field,
    oracle: &Step,
    other: &Step,
    previous: Option<&Step>,
) -> Signature {
    match field {
        Field::Ret => {
            let op = oracle.op.kind().call();
            let (a, b) = (RetClass::of(op, oracle.ret), RetClass::of(op, other.ret));
            let other = if a != b {
                RetOther::Class(b)
            } else if other.ret > oracle.ret {
                RetOther::More
            } else {
                RetOther::Fewer
            };
            Signature::Ret {
                backend,
                op,
                oracle: a,
                other,
            }
        }
        Field::Issued | Field::Received => {
            let (field, a, b) = if field == Field::Issued {
                (TicketField::Issued, oracle.issued, other.issued)
            } else {
                (TicketField::Received, oracle.received, other.received)
            };
            // More tickets than OpenSSL on a resumed connection breaks the man page's own cap
            // ("never more than 1"), a rule of its own; otherwise the kind of connection does
            // not tell causes apart.
            Signature::Tickets {
                backend,
                field,
                direction: if b > a {
                    Direction::More
                } else {
                    Direction::Fewer
                },
                phase: phase(previous),
                over_resumed_cap: b > a && oracle.resumed == Some(true),
            }
        }
        Field::Resumed => Signature::Session {
            backend,
            oracle: oracle.resumed,
            other: other.resumed,
        },
        Field::Notified => Signature::Notified {
            backend,
            direction: if other.notified > oracle.notified {
                Direction::More
            } else {
                Direction::Fewer
            },
            phase: phase(previous),
        },
        Field::Early => Signature::Early {
            backend,
            oracle: oracle.early,
            other: other.early,
        },
    }
}

/// The first divergence of `other` (run on `backend`) from `oracle`, if any.
pub fn first_divergence(oracle: &Trace, other: &Trace, backend: BackendId) -> Option<Divergence> {
    oracle
        .iter()
        .zip(other)
        .enumerate()
        .find_map(|(index, (a, b))| {
            let field = first_difference(a, b)?;
            let previous = index.checked_sub(1).map(|i| &oracle[i]);
            Some(Divergence {
                signature: signature(backend, field, a, b, previous),
                line: a.line,
                op: a.op,
                difference: Difference::Field {
                    field,
                    oracle: field.of(a),
                    other: field.of(b),
                },
            })
        })
}
