//! Commands as library functions (cargo's `ops` pattern). Each takes plain
//! options, does its IO through [`crate::write`], and returns an outcome for
//! the binary to render.

pub mod apply;
pub mod build;
pub mod init;
pub mod lint;
pub mod read;

pub use build::{build, BuildError, BuildOptions, BuildOutcome};
pub use init::{init, InitError, InitOutcome};
pub use lint::{lint, LintError, LintOptions};
