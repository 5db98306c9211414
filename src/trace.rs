//! Traces: what a run of a program on one backend observed, one [`Step`] per op.

use serde::{Deserialize, Serialize};

/// One op's observations, field for field as `shared/PROGRAM-FORMAT.md` defines them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Step {
    pub line: u32,
    pub op: String,
    pub ret: Option<i128>,
    pub issued: u64,
    pub received: u64,
    pub resumed: Option<bool>,
}

/// The steps of one run, in program order.
pub type Trace = Vec<Step>;
