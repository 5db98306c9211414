//! Traces: what a run of a program on one backend observed, one [`Step`] per op.

use crate::program::Op;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One op's observations, field for field as `shared/PROGRAM-FORMAT.md` defines them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Step {
    pub line: u32,
    /// In JSON, the op's canonical text, as the format defines it.
    #[serde(serialize_with = "op_as_text", deserialize_with = "op_from_text")]
    pub op: Op,
    pub ret: Option<i128>,
    pub issued: u64,
    pub received: u64,
    pub resumed: Option<bool>,
    /// Calls of the server's new-session callback so far in this program (version 2; absent in
    /// traces written before it, read as 0).
    #[serde(default)]
    pub notified: u64,
    /// `SSL_get_early_data_status(server)` once the current connection's handshake has
    /// finished (version 2).
    #[serde(default)]
    pub early: Option<EarlyStatus>,
}

/// `SSL_get_early_data_status` on the server.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EarlyStatus {
    Accepted,
    Rejected,
    #[default]
    NotSent,
}

impl EarlyStatus {
    pub const ALL: [EarlyStatus; 3] = [
        EarlyStatus::Accepted,
        EarlyStatus::Rejected,
        EarlyStatus::NotSent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EarlyStatus::Accepted => "accepted",
            EarlyStatus::Rejected => "rejected",
            EarlyStatus::NotSent => "not_sent",
        }
    }

    pub fn from_name(s: &str) -> Option<EarlyStatus> {
        EarlyStatus::ALL.into_iter().find(|e| e.name() == s)
    }
}

fn op_as_text<S: Serializer>(op: &Op, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(op)
}

fn op_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// The steps of one run, in program order.
pub type Trace = Vec<Step>;

/// A trace field, in the order fields are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Ret,
    Issued,
    Received,
    Resumed,
    Notified,
    Early,
}

impl Field {
    pub const ALL: [Field; 6] = [
        Field::Ret,
        Field::Issued,
        Field::Received,
        Field::Resumed,
        Field::Notified,
        Field::Early,
    ];

    /// The field's name in the trace's JSON.
    pub fn name(self) -> &'static str {
        match self {
            Field::Ret => "ret",
            Field::Issued => "issued",
            Field::Received => "received",
            Field::Resumed => "resumed",
            Field::Notified => "notified",
            Field::Early => "early",
        }
    }

    /// This field of a step.
    pub fn of(self, step: &Step) -> Value {
        match self {
            Field::Ret => Value::Ret(step.ret),
            Field::Issued => Value::Count(step.issued),
            Field::Received => Value::Count(step.received),
            Field::Resumed => Value::Resumed(step.resumed),
            Field::Notified => Value::Count(step.notified),
            Field::Early => Value::Early(step.early),
        }
    }

    /// Reads a value of this field from its text (`null`, a number, `true`/`false`).
    pub fn parse_value(self, text: &str) -> Result<Value, String> {
        let bad = || format!("`{text}` is not a value of `{}`", self.name());
        match self {
            Field::Ret if text == "null" => Ok(Value::Ret(None)),
            Field::Ret => text.parse().map(|v| Value::Ret(Some(v))).map_err(|_| bad()),
            Field::Issued | Field::Received | Field::Notified => {
                text.parse().map(Value::Count).map_err(|_| bad())
            }
            Field::Early if text == "null" => Ok(Value::Early(None)),
            Field::Early => EarlyStatus::from_name(text)
                .map(|e| Value::Early(Some(e)))
                .ok_or_else(bad),
            Field::Resumed => match text {
                "null" => Ok(Value::Resumed(None)),
                "true" => Ok(Value::Resumed(Some(true))),
                "false" => Ok(Value::Resumed(Some(false))),
                _ => Err(bad()),
            },
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Field {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                format!("unknown field `{s}` (expected {})", names.join(", "))
            })
    }
}

/// One field's value in one step. Displayed as the trace's JSON writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    Ret(Option<i128>),
    Count(u64),
    Resumed(Option<bool>),
    Early(Option<EarlyStatus>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Ret(Some(v)) => write!(f, "{v}"),
            Value::Count(v) => write!(f, "{v}"),
            Value::Resumed(Some(v)) => write!(f, "{v}"),
            Value::Early(Some(e)) => f.write_str(e.name()),
            Value::Ret(None) | Value::Resumed(None) | Value::Early(None) => f.write_str("null"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Whether a trace is of a program with a version 2 op or flag: then its version 2 fields
/// (`notified`, `early`) are recorded and shown even where they say nothing new.
pub fn is_v2(trace: &[Step]) -> bool {
    trace.iter().any(|s| s.op.is_v2())
}

/// The fields worth showing for these traces of one program: the version 1 fields always;
/// `notified` when it says more than `issued` does (it differs from it somewhere, or the
/// program is version 2), `early` when some connection had early data or the program is
/// version 2. So version 1 tables and annotations stay as they were.
pub fn shown_fields<'a>(traces: impl IntoIterator<Item = &'a [Step]> + Clone) -> Vec<Field> {
    let steps = || traces.clone().into_iter().flatten();
    let v2 = traces.clone().into_iter().any(is_v2);
    Field::ALL
        .into_iter()
        .filter(|f| match f {
            Field::Notified => v2 || steps().any(|s| s.notified != s.issued),
            Field::Early => {
                v2 || steps().any(|s| !matches!(s.early, None | Some(EarlyStatus::NotSent)))
            }
            _ => true,
        })
        .collect()
}

/// The first field in which two steps differ, if any.
pub fn first_difference(a: &Step, b: &Step) -> Option<Field> {
    Field::ALL.into_iter().find(|f| f.of(a) != f.of(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_their_text() {
        for (field, text) in [
            (Field::Ret, "null"),
            (Field::Ret, "-1"),
            (Field::Ret, "65536"),
            (Field::Issued, "7"),
            (Field::Resumed, "null"),
            (Field::Resumed, "false"),
            (Field::Notified, "3"),
            (Field::Early, "accepted"),
            (Field::Early, "not_sent"),
            (Field::Early, "null"),
        ] {
            assert_eq!(field.parse_value(text).unwrap().to_string(), text);
        }
        assert!(Field::Issued.parse_value("-1").is_err());
        assert!(Field::Resumed.parse_value("1").is_err());
        assert_eq!("received".parse::<Field>(), Ok(Field::Received));
        assert!("rett".parse::<Field>().is_err());
    }

    #[test]
    fn a_step_serializes_its_op_as_text() {
        let step = Step {
            line: 3,
            op: "server_write 5".parse().unwrap(),
            ret: Some(-1),
            issued: 2,
            received: 1,
            resumed: None,
            notified: 2,
            early: Some(EarlyStatus::NotSent),
        };
        let json = serde_json::to_string(&step).unwrap();
        assert_eq!(
            json,
            r#"{"line":3,"op":"server_write 5","ret":-1,"issued":2,"received":1,"resumed":null,"notified":2,"early":"not_sent"}"#
        );
        assert_eq!(serde_json::from_str::<Step>(&json).unwrap(), step);
        // A trace written before version 2 reads with the new fields at their start values.
        let v1 =
            r#"{"line":3,"op":"server_write 5","ret":-1,"issued":2,"received":1,"resumed":null}"#;
        let old = serde_json::from_str::<Step>(v1).unwrap();
        assert_eq!((old.notified, old.early), (0, None));
    }
}
