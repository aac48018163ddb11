//! `gen build`: compile a catalog and write (or `--check`) the output tree.

use std::path::{Path, PathBuf};

use super::lint::{load_policy, LintError};
use crate::diag::Problems;
use crate::lint::Report;
use crate::write::{self, Drift, WriteError};
use crate::{check_environments, CompileError};

/// Options of `gen build`.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Catalog file.
    pub catalog: PathBuf,
    /// Output directory (default: `out/` beside the catalog).
    pub out: Option<PathBuf>,
    /// Compare instead of writing.
    pub check: bool,
    /// Policy file for the lint step [default: gen-policy.yaml beside the catalog].
    pub policy: Option<PathBuf>,
    /// Write even when lint reports errors.
    pub allow_lint_errors: bool,
    /// Today, `YYYY-MM-DD` (UTC), for waiver expiry.
    pub today: String,
    /// Render and lint only these environments (`--env`); empty: all of them.
    pub environments: Vec<String>,
}

/// What `gen build` did.
#[derive(Debug)]
pub enum BuildOutcome {
    /// The tree was written.
    Written {
        /// Output directory.
        out: PathBuf,
        /// Number of files.
        files: usize,
        /// Number of services.
        services: usize,
        /// Environments rendered under `environments/`.
        environments: Vec<String>,
        /// Lint findings (none at error severity unless allowed).
        report: Report,
    },
    /// `--check`: everything up to date.
    UpToDate {
        /// Output directory.
        out: PathBuf,
        /// Number of files compared.
        files: usize,
    },
    /// `--check`: differences found.
    Drifted {
        /// Output directory.
        out: PathBuf,
        /// The differences.
        drift: Drift,
    },
}

/// Why `gen build` failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BuildError {
    /// The catalog could not be read.
    #[error("cannot read catalog {path}: {source}")]
    #[diagnostic(code(gen::read), help("pass the catalog path, e.g. `gen build examples/karina/catalog.yaml` (default: ./catalog.yaml)"))]
    Read {
        /// Path given.
        path: PathBuf,
        /// OS error.
        #[source]
        source: std::io::Error,
    },
    /// The catalog is invalid or gen failed internally.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Compile(#[from] CompileError),
    /// The output could not be written or read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Write(#[from] WriteError),
    /// The policy file is invalid.
    #[error("{0}")]
    Policy(Problems),
    /// Lint found errors; nothing was written.
    #[error("lint found errors; nothing was written")]
    Lint(Report),
}

impl From<LintError> for BuildError {
    fn from(e: LintError) -> Self {
        match e {
            LintError::Policy(p) => BuildError::Policy(p),
            LintError::Read { path, source } => BuildError::Read { path, source },
            LintError::Compile(e) => BuildError::Compile(e),
        }
    }
}

/// The default output directory: `out/` beside the catalog.
pub fn default_out(catalog: &Path) -> PathBuf {
    match catalog.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join("out"),
        _ => PathBuf::from("out"),
    }
}

/// Run `gen build`.
pub fn build(opts: &BuildOptions) -> Result<BuildOutcome, BuildError> {
    let bytes = super::read::catalog(&opts.catalog).map_err(|source| BuildError::Read {
        path: opts.catalog.clone(),
        source,
    })?;
    let name = super::read::display_name(&opts.catalog);
    let policy = load_policy(&opts.catalog, opts.policy.as_deref())?;
    let only = (!opts.environments.is_empty()).then_some(opts.environments.as_slice());
    let compiled = check_environments(&name, &bytes, &policy, &opts.today, only)?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out(&opts.catalog));
    // Lint errors stop `--check` too: its diff could otherwise print what
    // lint refused (a literal secret, say) into a CI log.
    if compiled.report.has_errors() && !opts.allow_lint_errors {
        return Err(BuildError::Lint(compiled.report));
    }
    if opts.check {
        let drift = write::check_tree(&out, &compiled.tree)?;
        return Ok(if drift.is_clean() {
            BuildOutcome::UpToDate {
                out,
                files: compiled.tree.len(),
            }
        } else {
            BuildOutcome::Drifted { out, drift }
        });
    }
    // The catalog (or policy) kept inside --out would go with the old tree.
    let mut inputs: Vec<&Path> = opts.policy.iter().map(PathBuf::as_path).collect();
    if !super::read::is_stdin(&opts.catalog) {
        inputs.push(&opts.catalog);
    }
    write::refuse_inputs_inside(&out, &inputs)?;
    write::write_tree(&out, &compiled.tree)?;
    Ok(BuildOutcome::Written {
        out,
        files: compiled.tree.len(),
        services: compiled.model.services.len(),
        environments: compiled
            .model
            .environments()
            .map(|e| e.name.clone())
            .filter(|n| only.is_none_or(|o| o.contains(n)))
            .collect(),
        report: compiled.report,
    })
}
