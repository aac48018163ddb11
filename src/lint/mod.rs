//! Stage 4: policy rules over the validated model and the emitted objects.
//!
//! Each rule is one file in `rules/` with its metadata (stable id, default
//! severity, summary) and its documentation in fixed sections (what it
//! checks, why it matters, an example catalog that triggers it, how to fix
//! it). Findings point at the catalog node that causes them; the policy file
//! (`gen-policy.yaml`) turns rules off, changes severities and sets
//! parameters; service `waivers` silence a rule for one service, with a
//! reason.
//!
//! Architecture invariant: lint never touches the filesystem; the policy
//! text and today's date are inputs.

pub mod format;
pub mod policy;
pub mod rules;

use std::collections::BTreeMap;

use miette::Severity as MietteSeverity;
use serde::Serialize;

use crate::catalog::Parsed;
use crate::diag::Problem;
use crate::emit::helm::Values;
use crate::model::flows::Flow;
use crate::model::Model;
pub use policy::Policy;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Should be fixed or waived.
    Warning,
    /// Must be fixed or waived; `gen build` refuses to write.
    Error,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// SARIF level.
    pub fn sarif(self) -> &'static str {
        match self {
            Severity::Info => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    fn miette(self) -> MietteSeverity {
        match self {
            Severity::Info => MietteSeverity::Advice,
            Severity::Warning => MietteSeverity::Warning,
            Severity::Error => MietteSeverity::Error,
        }
    }
}

/// Where a rule looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Services and their Kubernetes objects.
    Workloads,
    /// Routes and the Ingress.
    Ingress,
    /// The cluster (K3s or EKS).
    Cluster,
    /// AWS security groups and network.
    Network,
    /// The catalog itself (waivers, secrets).
    Catalog,
}

impl Scope {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Workloads => "workloads",
            Scope::Ingress => "ingress",
            Scope::Cluster => "cluster",
            Scope::Network => "network",
            Scope::Catalog => "catalog",
        }
    }
}

/// One rule: metadata, documentation and the check.
pub struct Rule {
    /// Stable id, e.g. `replicas-routed`.
    pub id: &'static str,
    /// Severity unless the policy says otherwise.
    pub severity: Severity,
    /// Where it looks.
    pub scope: Scope,
    /// One line.
    pub summary: &'static str,
    /// What it checks (Markdown).
    pub what: &'static str,
    /// Why it matters (Markdown).
    pub why: &'static str,
    /// A catalog that triggers it; the offending line ends with `# <-`.
    pub example: &'static str,
    /// How to fix it (Markdown).
    pub fix: &'static str,
    /// A catalog that does not trigger it (the fixed example).
    pub passing: &'static str,
    /// Parameters it reads from the policy, with defaults, for the docs.
    pub params: &'static [(&'static str, &'static str)],
    /// The check.
    pub check: fn(&Ctx, &mut Vec<Hit>),
}

/// What a rule reports: a catalog node and a message.
#[derive(Debug, Clone)]
pub struct Hit {
    /// JSON pointer of the catalog node.
    pub pointer: String,
    /// Point at the key rather than the value.
    pub key: bool,
    /// What is wrong, one sentence.
    pub message: String,
    /// The service the finding is about, when the node is shared (in
    /// `defaults`): that service's waivers apply.
    pub service: Option<String>,
    /// A second catalog node that explains the finding: its pointer and
    /// label (e.g. the setting that makes a value a problem).
    pub note: Option<(String, String)>,
}

impl Hit {
    /// Say which service the finding is about (for waivers).
    #[must_use]
    pub fn of(mut self, service: &str) -> Hit {
        self.service = Some(service.to_owned());
        self
    }

    /// Label the value at `pointer` too, as what explains the finding.
    #[must_use]
    pub fn note(mut self, pointer: impl Into<String>, label: impl Into<String>) -> Hit {
        self.note = Some((pointer.into(), label.into()));
        self
    }

    /// A finding at the value of `pointer`.
    pub fn at(pointer: impl Into<String>, message: impl Into<String>) -> Hit {
        Hit {
            pointer: pointer.into(),
            key: false,
            message: message.into(),
            service: None,
            note: None,
        }
    }

    /// A finding at the key of `pointer`.
    pub fn at_key(pointer: impl Into<String>, message: impl Into<String>) -> Hit {
        Hit {
            key: true,
            ..Hit::at(pointer, message)
        }
    }
}

/// What rules see.
pub struct Ctx<'a> {
    /// The validated model.
    pub model: &'a Model,
    /// The parsed catalog (as written, with spans).
    pub parsed: &'a Parsed,
    /// Chart values per service, in model order.
    pub values: &'a [Values],
    /// The flow table.
    pub flows: &'a [Flow],
    /// Policy (parameters).
    pub policy: &'a Policy,
    /// Today (UTC), `YYYY-MM-DD`.
    pub today: &'a str,
    rule: &'static str,
}

impl Ctx<'_> {
    /// An integer parameter of the running rule, or `default`.
    pub fn param_u64(&self, name: &str, default: u64) -> u64 {
        self.policy
            .param(self.rule, name)
            .and_then(|v| v.as_u64())
            .unwrap_or(default)
    }

    /// A parameter of the running rule as JSON.
    pub fn param(&self, name: &str) -> Option<&serde_json::Value> {
        self.policy.param(self.rule, name)
    }
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Rule id.
    pub rule: &'static str,
    /// Effective severity.
    pub severity: Severity,
    /// The located diagnostic (message, span, help).
    pub problem: Problem,
    /// The environments it occurs in when the base catalog does not have it
    /// (its message then ends with ` (environment <name>)`); empty otherwise.
    pub environments: Vec<String>,
}

impl Finding {
    /// `(line, column)`, 1-based.
    pub fn line_col(&self) -> (usize, usize) {
        self.problem.line_col()
    }
}

/// The findings of one run, sorted by position.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings.
    pub findings: Vec<Finding>,
    /// Findings silenced by a waiver: (rule, service).
    pub waived: Vec<(&'static str, String)>,
}

impl Report {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Count per severity.
    pub fn counts(&self) -> BTreeMap<Severity, usize> {
        let mut m = BTreeMap::new();
        for f in &self.findings {
            *m.entry(f.severity).or_insert(0) += 1;
        }
        m
    }
}

/// Rules whose findings point at a secret value: their source snippets are
/// masked.
pub const SECRET_RULES: [&str; 3] = [
    "secret-env-literal",
    "env-high-entropy",
    "env-url-credentials",
];

/// Every rule, sorted by id.
pub fn all() -> Vec<&'static Rule> {
    let mut v: Vec<&'static Rule> = rules::ALL.to_vec();
    v.sort_by_key(|r| r.id);
    v
}

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static Rule> {
    rules::ALL.iter().copied().find(|r| r.id == id)
}

/// Whether `id` names a lint rule.
pub fn is_rule(id: &str) -> bool {
    find(id).is_some()
}

/// Which service (by name) a catalog pointer is inside, if any.
fn service_of(pointer: &str) -> Option<String> {
    let rest = pointer.strip_prefix("/services/")?;
    let name = rest.split('/').next()?;
    Some(name.replace("~1", "/").replace("~0", "~"))
}

/// One model to lint: the catalog's, or an environment's.
pub struct Target<'a> {
    /// The environment, or None for the catalog's own (default) model.
    pub environment: Option<&'a str>,
    /// The catalog as this model sees it (`model::environment::view`).
    pub parsed: &'a Parsed,
    /// The model.
    pub model: &'a Model,
    /// Its chart values.
    pub values: &'a [Values],
    /// Its flow table.
    pub flows: &'a [Flow],
}

/// Run every enabled rule.
pub fn run(
    parsed: &Parsed,
    model: &Model,
    values: &[Values],
    flows: &[Flow],
    policy: &Policy,
    today: &str,
) -> Report {
    run_targets(
        &[Target {
            environment: None,
            parsed,
            model,
            values,
            flows,
        }],
        policy,
        today,
    )
}

/// A finding before it becomes a located diagnostic.
struct Raw {
    rule: &'static Rule,
    severity: Severity,
    hit: Hit,
    span: std::ops::Range<usize>,
    /// The hit's note, located.
    note: Option<(std::ops::Range<usize>, String)>,
    environments: Vec<String>,
}

/// Run every enabled rule on each target (the catalog's model first, then
/// environments). A finding of an environment that the catalog's model has
/// too is reported once, as the catalog's; one found in environments only is
/// reported once, naming them.
pub fn run_targets(targets: &[Target], policy: &Policy, today: &str) -> Report {
    let mut report = Report::default();
    let mut raw: Vec<Raw> = Vec::new();
    // Identity of a finding -> its index in `raw`; catalog's findings first.
    type Id = (&'static str, usize, usize, String);
    let mut seen: BTreeMap<Id, usize> = BTreeMap::new();
    for t in targets {
        let found = collect(t, policy, today, &mut report.waived);
        for r in found {
            let id = (r.rule.id, r.span.start, r.span.end, r.hit.message.clone());
            match (seen.get(&id), t.environment) {
                // The catalog's own (kept as they come), or an environment's
                // the catalog has too (reported once, as the catalog's).
                (Some(_), None) => raw.push(r),
                (Some(&i), Some(env)) => {
                    if let Some(q) = raw.get_mut(i).filter(|q| !q.environments.is_empty()) {
                        if q.environments.last().map(String::as_str) != Some(env) {
                            q.environments.push(env.to_owned());
                        }
                    }
                }
                (None, env) => {
                    seen.insert(id, raw.len());
                    raw.push(Raw {
                        environments: env.map(|e| vec![e.to_owned()]).unwrap_or_default(),
                        ..r
                    });
                }
            }
        }
    }
    let Some(first) = targets.first() else {
        return report;
    };
    // Findings show where secret values are, never what they are: every
    // snippet comes from the catalog with all of them masked.
    let secrets: Vec<std::ops::Range<usize>> = raw
        .iter()
        .filter(|r| SECRET_RULES.contains(&r.rule.id))
        .map(|r| r.span.clone())
        .collect();
    let source = if secrets.is_empty() {
        first.parsed.source.clone()
    } else {
        first.parsed.source.redacted(&secrets)
    };
    for r in raw {
        let message = format!(
            "{}{}",
            r.hit.message,
            crate::model::environment::suffix(&r.environments)
        );
        let mut problem = Problem::new(&source, r.rule.id, r.span.clone(), message)
            .label(r.rule.summary)
            .help(plain(r.rule.fix))
            .severity(r.severity.miette());
        if let Some((span, label)) = &r.note {
            problem = problem.note(span.clone(), label.clone());
        }
        // Found only in environments, at a node outside them (a base value
        // the environment's overrides make a problem): show where they are.
        for env in &r.environments {
            let block = first
                .parsed
                .spans
                .nearest(&crate::model::environment::pointer(env));
            if r.span.start < block.value.start || block.value.end < r.span.end {
                problem = problem.note(
                    block.key.unwrap_or(block.value),
                    format!("environment `{env}`"),
                );
            }
        }
        report.findings.push(Finding {
            rule: r.rule.id,
            severity: r.severity,
            problem,
            environments: r.environments,
        });
    }
    report
        .findings
        .sort_by(|a, b| (a.problem.span.start, a.rule).cmp(&(b.problem.span.start, b.rule)));
    report.waived.sort();
    report.waived.dedup();
    report
}

/// The located hits of every enabled rule on one target, minus the waived
/// ones (recorded in `waived`).
fn collect(
    t: &Target,
    policy: &Policy,
    today: &str,
    waived: &mut Vec<(&'static str, String)>,
) -> Vec<Raw> {
    let waivers: BTreeMap<&str, &[String]> = t
        .model
        .services
        .iter()
        .map(|s| (s.name.as_str(), s.waivers.as_slice()))
        .collect();
    let mut raw = Vec::new();
    for rule in all() {
        if !policy.enabled(rule.id) {
            continue;
        }
        let severity = policy.severity(rule.id).unwrap_or(rule.severity);
        let cx = Ctx {
            model: t.model,
            parsed: t.parsed,
            values: t.values,
            flows: t.flows,
            policy,
            today,
            rule: rule.id,
        };
        let mut hits = Vec::new();
        (rule.check)(&cx, &mut hits);
        for h in hits {
            if let Some(svc) = h.service.clone().or_else(|| service_of(&h.pointer)) {
                if waivers
                    .get(svc.as_str())
                    .is_some_and(|w| w.iter().any(|r| r == rule.id))
                {
                    waived.push((rule.id, svc));
                    continue;
                }
            }
            let span = if h.key {
                t.parsed.spans.key_or_value(&h.pointer)
            } else {
                t.parsed.spans.value(&h.pointer)
            };
            let note = h
                .note
                .as_ref()
                .map(|(p, label)| (t.parsed.spans.value(p), label.clone()));
            raw.push(Raw {
                rule,
                severity,
                hit: h,
                span,
                note,
                environments: Vec::new(),
            });
        }
    }
    raw
}

fn plain(md: &str) -> String {
    let flat = md.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.replace('`', "")
}
