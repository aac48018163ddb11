//! `gen lint`: compile the catalog and run the policy rules.

use std::path::{Path, PathBuf};

use crate::diag::Problems;
use crate::lint::{Policy, Report};
use crate::{lint_only, CompileError};

/// Name of the policy file looked up beside the catalog.
pub const POLICY_FILE: &str = "gen-policy.yaml";

/// Options of `gen lint` (and the lint step of `gen build`).
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Catalog file.
    pub catalog: PathBuf,
    /// Policy file [default: gen-policy.yaml beside the catalog, if any].
    pub policy: Option<PathBuf>,
    /// Today, `YYYY-MM-DD` (UTC).
    pub today: String,
}

/// Why linting could not run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LintError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(gen::read))]
    Read {
        /// Path.
        path: PathBuf,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// The catalog is invalid.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Compile(#[from] CompileError),
    /// The policy file is invalid.
    #[error("{0}")]
    Policy(Problems),
}

/// The policy in effect: the given file, else `gen-policy.yaml` beside the
/// catalog, else the defaults.
pub fn load_policy(catalog: &Path, explicit: Option<&Path>) -> Result<Policy, LintError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let beside = catalog
                .parent()
                .map_or_else(|| PathBuf::from(POLICY_FILE), |d| d.join(POLICY_FILE));
            if !beside.is_file() {
                return Ok(Policy::default());
            }
            beside
        }
    };
    let text = super::read::policy(&path)
        .and_then(|b| {
            String::from_utf8(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
        .map_err(|source| LintError::Read {
            path: path.clone(),
            source,
        })?;
    Policy::parse(&path.to_string_lossy(), &text).map_err(LintError::Policy)
}

/// Run `gen lint`.
pub fn lint(opts: &LintOptions) -> Result<Report, LintError> {
    let bytes = super::read::catalog(&opts.catalog).map_err(|source| LintError::Read {
        path: opts.catalog.clone(),
        source,
    })?;
    let policy = load_policy(&opts.catalog, opts.policy.as_deref())?;
    let name = super::read::display_name(&opts.catalog);
    Ok(lint_only(&name, &bytes, &policy, &opts.today)?)
}
