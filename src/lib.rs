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
pub mod excerpt;
pub mod lint;
pub mod model;
pub mod ops;
pub mod secrets;
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
    /// `--env` names an environment the catalog does not define.
    #[error("{catalog}: no environment `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    #[diagnostic(code(gen::unknown_environment), help("{}", if known.is_empty() { "the catalog defines no `environments`".to_owned() } else { format!("the catalog's environments: {}", known.join(", ")) }))]
    UnknownEnvironment {
        /// The catalog, as named on the command line.
        catalog: String,
        /// The name given.
        name: String,
        /// The closest environment name, if any is close.
        suggestion: Option<String>,
        /// Every environment of the catalog.
        known: Vec<String>,
    },
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
/// expiry); every environment is rendered and linted.
pub fn check(
    name: &str,
    bytes: &[u8],
    policy: &lint::Policy,
    today: &str,
) -> Result<Checked, CompileError> {
    check_environments(name, bytes, policy, today, None)
}

/// [`check`], rendering (under `environments/`) and linting only the
/// environments in `only` (None: all). An unknown name is an error.
pub fn check_environments(
    name: &str,
    bytes: &[u8],
    policy: &lint::Policy,
    today: &str,
    only: Option<&[String]>,
) -> Result<Checked, CompileError> {
    let source = catalog::decode(name, bytes).map_err(CompileError::Catalog)?;
    let (parsed, model) = model::analyze(&source).map_err(CompileError::Catalog)?;
    select(name, &model, only)?;
    let derived = emit::Derived::of(&model);
    let tree = emit::emit_with(&model, &derived, only)?;
    let report = lint_all(&parsed, &model, &derived, only, policy, today);
    Ok(Checked {
        parsed,
        model,
        tree,
        report,
    })
}

/// Refuse environment names the catalog does not define.
fn select(
    catalog: &str,
    model: &model::Model,
    only: Option<&[String]>,
) -> Result<(), CompileError> {
    for name in only.unwrap_or_default() {
        if model.environment(name).is_none() {
            let known: Vec<String> = model.environments().map(|e| e.name.clone()).collect();
            return Err(CompileError::UnknownEnvironment {
                catalog: catalog.to_owned(),
                name: name.clone(),
                suggestion: catalog::schema::closest(name, known.iter().map(String::as_str))
                    .map(str::to_owned),
                known,
            });
        }
    }
    Ok(())
}

/// Lint the catalog's model and each selected environment's.
fn lint_all(
    parsed: &catalog::Parsed,
    model: &model::Model,
    derived: &emit::Derived,
    only: Option<&[String]>,
    policy: &lint::Policy,
    today: &str,
) -> lint::Report {
    let views: Vec<(&model::Environment, catalog::Parsed, usize)> = model
        .environments()
        .enumerate()
        .filter(|(_, e)| only.is_none_or(|o| o.contains(&e.name)))
        .filter_map(|(i, e)| model::environment::view(parsed, &e.name).map(|v| (e, v, i)))
        .collect();
    let mut targets = vec![lint::Target {
        environment: None,
        parsed,
        model,
        values: &derived.values,
        flows: &derived.flows,
    }];
    for (e, view, i) in &views {
        if let Some((values, flows)) = derived.environments.get(*i) {
            targets.push(lint::Target {
                environment: Some(&e.name),
                parsed: view,
                model: &e.model,
                values,
                flows,
            });
        }
    }
    lint::run_targets(&targets, policy, today)
}

/// Parse, check and lint without emitting the output tree: what `gen lint`
/// needs (rules read the model, the chart values and the flow table, not
/// the files), several times faster than [`check`] on large catalogs. Every
/// environment is linted.
pub fn lint_only(
    name: &str,
    bytes: &[u8],
    policy: &lint::Policy,
    today: &str,
) -> Result<lint::Report, CompileError> {
    let source = catalog::decode(name, bytes).map_err(CompileError::Catalog)?;
    let (parsed, model) = model::analyze(&source).map_err(CompileError::Catalog)?;
    let derived = emit::Derived::of(&model);
    Ok(lint_all(&parsed, &model, &derived, None, policy, today))
}

/// Run the pure pipeline: bytes -> parse -> check -> model -> emit (every
/// environment included).
///
/// `name` is how diagnostics name the file (the path as the user gave it).
pub fn compile(name: &str, bytes: &[u8]) -> Result<Compiled, CompileError> {
    let source = catalog::decode(name, bytes).map_err(CompileError::Catalog)?;
    let (_, model) = model::analyze(&source).map_err(CompileError::Catalog)?;
    let tree = emit::emit(&model)?;
    Ok(Compiled { model, tree })
}
