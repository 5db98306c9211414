//! The `.tkt` parser (stub, filled in next).
use super::Program;
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub message: String,
}
pub fn parse(_text: &str) -> Result<Program, ParseError> {
    unimplemented!()
}
pub fn parse_file(_path: &std::path::Path) -> Result<Program, ParseError> {
    unimplemented!()
}
