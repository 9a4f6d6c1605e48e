//! The permissions file (contract §4): which commands are allowed where.
//!
//! TODO: being written; the API below is fixed.

use crate::command::Allow;
use crate::share_path::SharePath;
use std::fmt;

/// Why a permissions file was refused: the line (1-based) and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// The effective rules, parsed once.
#[derive(Debug, Clone)]
pub struct Permissions {}

impl Permissions {
    /// The rules without a file: `allow = list, download, mkdir, upload`.
    pub fn default_rules() -> Permissions {
        unimplemented!()
    }

    /// Parses the text of a permissions file.
    pub fn parse(_text: &str) -> Result<Permissions, ParseError> {
        unimplemented!()
    }

    /// The commands allowed on `path`.
    pub fn allowed(&self, _path: &SharePath) -> Allow {
        unimplemented!()
    }
}
