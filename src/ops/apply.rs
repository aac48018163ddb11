//! `gen apply`, `gen diff`, `gen rollback`: the catalog side.
//!
//! [`prepare`] reads, compiles and lints the catalog in memory (lint errors
//! stop it, as in `gen build`), picks the environment and context, and
//! returns the objects to send. The network side is [`crate::apply`]; the
//! binary drives the two (it owns the async runtime, the confirmation prompt
//! and the progress bars).

use std::path::PathBuf;
use std::time::Duration;

use super::build::BuildError;
use super::lint::load_policy;
use crate::apply::{Desired, Target};
use crate::check_environments;
use crate::model::Model;

/// Options shared by the cluster commands.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Catalog file.
    pub catalog: PathBuf,
    /// Policy file for the lint step [default: gen-policy.yaml beside the catalog].
    pub policy: Option<PathBuf>,
    /// Today, `YYYY-MM-DD` (UTC), for waiver expiry.
    pub today: String,
    /// The kubeconfig context.
    pub context: Option<String>,
    /// The catalog environment.
    pub env: Option<String>,
    /// The kubeconfig file.
    pub kubeconfig: Option<PathBuf>,
    /// Bound on connecting and on each request.
    pub request_timeout: Duration,
}

/// A catalog ready to be sent to a cluster.
#[derive(Debug)]
pub struct Prepared {
    /// The objects, in apply order, with ownership labels.
    pub desired: Desired,
    /// The cluster to send them to.
    pub target: Target,
    /// The catalog environment the objects are rendered for (None: the
    /// defaults).
    pub environment: Option<String>,
    /// The protected environment that makes changes need confirmation: the
    /// selected one, or the one whose context this is (None: unprotected).
    pub protected: Option<String>,
    /// Lint findings (no errors).
    pub report: crate::lint::Report,
}

/// Why a cluster command could not start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PrepareError {
    /// The catalog could not be read, compiled or linted clean.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Build(#[from] BuildError),
    /// The options do not say which cluster.
    #[error("{message}")]
    #[diagnostic(code(gen::apply::usage), help("{help}"))]
    Usage {
        /// What is missing or wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
}

/// Compile and lint the catalog, select the environment and context, and
/// build the objects to send.
pub fn prepare(opts: &ClusterOptions) -> Result<Prepared, PrepareError> {
    let bytes = super::read::catalog(&opts.catalog).map_err(|source| BuildError::Read {
        path: opts.catalog.clone(),
        source,
    })?;
    let name = super::read::display_name(&opts.catalog);
    let policy = load_policy(&opts.catalog, opts.policy.as_deref()).map_err(BuildError::from)?;
    // The base first (lint errors in another environment do not block this
    // one), then the environment the options select, linted as well.
    let none: &[String] = &[];
    let base = check_environments(&name, &bytes, &policy, &opts.today, Some(none))
        .map_err(BuildError::Compile)?;
    let environment = select(&base.model, opts)?;
    let checked = match &environment {
        Some(env) => check_environments(
            &name,
            &bytes,
            &policy,
            &opts.today,
            Some(std::slice::from_ref(env)),
        )
        .map_err(BuildError::Compile)?,
        None => base,
    };
    if checked.report.has_errors() {
        return Err(BuildError::Lint(checked.report).into());
    }
    let (model, context, env_protected) = match environment
        .as_deref()
        .and_then(|e| checked.model.environment(e))
    {
        Some(env) => (
            &env.model,
            opts.context.clone().unwrap_or_else(|| env.context.clone()),
            env.protected.then(|| env.name.clone()),
        ),
        None => match &opts.context {
            Some(c) => (&checked.model, c.clone(), None),
            None => {
                return Err(PrepareError::Usage {
                    message: "which cluster? neither --context nor --env was given".into(),
                    help: "name the kubeconfig context (`--context NAME`; `kubectl config get-contexts` lists them) or a catalog environment (`--env NAME`)".into(),
                })
            }
        },
    };
    // Protection follows the cluster as well as the settings: another
    // environment's render sent to a protected environment's context needs
    // the same confirmation as that environment's own.
    let protected = env_protected.or_else(|| {
        checked
            .model
            .environments()
            .find(|e| e.protected && e.context == context)
            .map(|e| e.name.clone())
    });
    let values = crate::emit::helm::Values::all(model);
    let files = crate::emit::manifests::files(model, &values, "manifests")
        .map_err(|e| BuildError::Compile(e.into()))?;
    let desired = Desired::new(&model.project, &files).map_err(|e| PrepareError::Usage {
        message: e.to_string(),
        help: "remove that label from the catalog (`namespaces.<name>.labels`): gen sets the ApplySet's labels itself, and an object may belong to one set only".into(),
    })?;
    Ok(Prepared {
        desired,
        target: Target {
            context,
            kubeconfig: opts.kubeconfig.clone(),
            request_timeout: opts.request_timeout,
        },
        environment,
        protected,
        report: checked.report,
    })
}

/// The environment the options select: `--env`, else the one whose
/// `context` is `--context`. None (the catalog's defaults) only for a
/// catalog without environments: in one with environments, a context that
/// belongs to none of them is refused rather than given the defaults (a
/// second context name for a protected cluster would otherwise slip past
/// its protection and its settings).
fn select(model: &Model, opts: &ClusterOptions) -> Result<Option<String>, PrepareError> {
    if let Some(env) = &opts.env {
        // check_environments refuses unknown names with a suggestion.
        return Ok(Some(env.clone()));
    }
    let Some(context) = &opts.context else {
        return Ok(None);
    };
    let matching: Vec<&str> = model
        .environments()
        .filter(|e| &e.context == context)
        .map(|e| e.name.as_str())
        .collect();
    match matching.as_slice() {
        [] if model.environments().next().is_none() => Ok(None),
        [] => Err(PrepareError::Usage {
            message: format!("context `{context}` belongs to no environment of the catalog"),
            help: format!(
                "the catalog's environments: {}; say whose settings to apply with --env NAME (with --context {context} to send them to this context), or give the environment's own context",
                model
                    .environments()
                    .map(|e| format!(
                        "{} (context `{}`{})",
                        e.name,
                        e.context,
                        if e.protected { ", protected" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
        [one] => Ok(Some((*one).to_owned())),
        many => Err(PrepareError::Usage {
            message: format!(
                "environments {} all use context `{context}`",
                many.join(", ")
            ),
            help: "say which one with --env NAME".into(),
        }),
    }
}

/// Parse a duration as `90`, `90s`, `5m`, `1h` or `1m30s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(format!("`{text}` is not a duration (use e.g. 30s, 5m, 1h)")),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{text}` is not a duration (use e.g. 30s, 5m, 1h)"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() || total == 0 {
        return Err(format!(
            "`{text}` is not a positive duration (use e.g. 30s, 5m, 1h)"
        ));
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
