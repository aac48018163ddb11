//! gen: a compiler from one service catalog to Helm charts, rendered
//! manifests, K3s bootstrap scripts and AWS security groups.
//!
//! The pipeline has one module per stage (see ARCHITECTURE.md):
//! [`catalog`] (parse with spans) -> [`model`] (validated IR) -> [`emit`]
//! (one module per target) -> [`write`] (the only file IO) and [`apply`]
//! (the only network IO). [`ops`] holds the
//! commands as thin library functions; the binary only parses arguments and
//! renders results.
//!
//! Architecture invariant: library code never prints and never exits; it
//! returns values and errors, and the binary decides how to show them.

pub mod apply;
pub mod catalog;
pub mod diag;
pub mod emit;
pub mod lint;
pub mod model;
pub mod ops;
pub mod write;

pub use diag::{Problem, Problems, SourceFile};

/// The result of compiling a catalog in memory.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The validated model.
    pub model: model::Model,
    /// Every output file.
    pub tree: emit::Tree,
}

/// Why a catalog could not be compiled.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CompileError {
    /// The catalog has problems; each is located in the source.
    #[error("{0}")]
    Catalog(Problems),
    /// gen failed internally.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Emit(#[from] emit::EmitError),
}

/// The result of compiling and linting a catalog in memory.
#[derive(Debug)]
pub struct Checked {
    /// The parsed catalog (with spans).
    pub parsed: catalog::Parsed,
    /// The validated model.
    pub model: model::Model,
    /// Every output file.
    pub tree: emit::Tree,
    /// Lint findings.
    pub report: lint::Report,
}

/// Compile, then lint with `policy` (`today` is `YYYY-MM-DD`, for waiver
/// expiry).
pub fn check(
    name: &str,
    bytes: &[u8],
    policy: &lint::Policy,
    today: &str,
) -> Result<Checked, CompileError> {
    let source = catalog::decode(name, bytes).map_err(CompileError::Catalog)?;
    let (parsed, model) = model::analyze(&source).map_err(CompileError::Catalog)?;
    let values = emit::helm::Values::all(&model);
    let flows = model::flows::derive(&model);
    let tree = emit::emit_with(&model, &values, &flows)?;
    let report = lint::run(&parsed, &model, &values, &flows, policy, today);
    Ok(Checked {
        parsed,
        model,
        tree,
        report,
    })
}

/// Parse, check and lint without emitting the output tree: what `gen lint`
/// needs (rules read the model, the chart values and the flow table, not
/// the files), several times faster than [`check`] on large catalogs.
pub fn lint_only(
    name: &str,
    bytes: &[u8],
    policy: &lint::Policy,
    today: &str,
) -> Result<lint::Report, CompileError> {
    let source = catalog::decode(name, bytes).map_err(CompileError::Catalog)?;
    let (parsed, model) = model::analyze(&source).map_err(CompileError::Catalog)?;
    let values = emit::helm::Values::all(&model);
    let flows = model::flows::derive(&model);
    Ok(lint::run(&parsed, &model, &values, &flows, policy, today))
}

/// Run the pure pipeline: bytes -> parse -> check -> model -> emit.
///
/// `name` is how diagnostics name the file (the path as the user gave it).
pub fn compile(name: &str, bytes: &[u8]) -> Result<Compiled, CompileError> {
    let source = catalog::decode(name, bytes).map_err(CompileError::Catalog)?;
    let (_, model) = model::analyze(&source).map_err(CompileError::Catalog)?;
    let tree = emit::emit(&model)?;
    Ok(Compiled { model, tree })
}
