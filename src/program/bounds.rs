//! The static bound check (stub, filled in next).
use super::Program;
pub const MAX_OPS: usize = 1000;
pub const MAX_TICKETS_IN_EFFECT: u64 = 256;
pub const MAX_WRITE_LEN: u64 = 1 << 20;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundError {
    pub line: u32,
    pub message: String,
}
pub fn check_bounds(_p: &Program) -> Result<(), BoundError> {
    Ok(())
}
