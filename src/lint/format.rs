//! Machine formats of a lint report (the human format is miette's, in the
//! binary): JSON, SARIF 2.1.0 and GitHub workflow commands; and the rule
//! list and docs. A refused catalog or policy ([`refused`]) is printed in the
//! same formats, its problems in place of findings.

use serde_json::{json, Value};

use super::{all, Finding, Report, Rule, Severity};
use crate::diag::Problems;

/// The problems that refused the catalog (or the policy file) as a report
/// the machine formats print like findings: each problem's code (e.g.
/// `catalog::image`) as its rule, at severity error, with its file, line,
/// column, message and help, masked like every diagnostic.
pub fn refused(problems: &Problems) -> Report {
    Report {
        findings: problems
            .iter()
            .map(|p| Finding {
                rule: p.code,
                severity: Severity::Error,
                problem: p.clone(),
                environments: Vec::new(),
            })
            .collect(),
        waived: Vec::new(),
    }
}

/// `--format json`: `{"findings": [...], "summary": {...}}`. A finding that
/// only environments have carries `"environments": [names]`.
pub fn json(report: &Report) -> String {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let (line, column) = f.line_col();
            let mut v = json!({
                "rule": f.rule,
                "severity": f.severity.as_str(),
                "message": f.problem.shown_message(),
                "file": f.problem.source().name(),
                "line": line,
                "column": column,
                "help": f.problem.shown_help(),
            });
            // Only on findings that exist in some environments and not in
            // the catalog's default values.
            if !f.environments.is_empty() {
                v["environments"] = json!(f.environments);
            }
            v
        })
        .collect();
    let counts = report.counts();
    let n = |s: Severity| counts.get(&s).copied().unwrap_or(0);
    let waived: Vec<Value> = report
        .waived
        .iter()
        .map(|(r, s)| json!({"rule": r, "service": s}))
        .collect();
    let v = json!({
        "findings": findings,
        "waived": waived,
        "summary": {"error": n(Severity::Error), "warning": n(Severity::Warning), "info": n(Severity::Info)},
    });
    pretty(&v)
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn rule_json(r: &Rule) -> Value {
    json!({
        "id": r.id,
        "severity": r.severity.as_str(),
        "scope": r.scope,
        "summary": r.summary,
        "what": r.what,
        "why": r.why,
        "fix": r.fix,
        "params": r.params.iter().map(|(k, d)| json!({"name": k, "default": d})).collect::<Vec<_>>(),
    })
}

/// `gen rules --format json`.
pub fn rules_json() -> String {
    pretty(&Value::Array(all().into_iter().map(rule_json).collect()))
}

/// `gen rules`: one line per rule.
pub fn rules_text() -> String {
    let rules = all();
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut s = String::new();
    for r in rules {
        s.push_str(&format!(
            "{:width$}  {:7}  {}\n",
            r.id,
            r.severity.as_str(),
            r.summary
        ));
    }
    s
}

/// `--format sarif`: SARIF 2.1.0 with rule metadata and regions. The codes
/// of a refused catalog's problems are described after the lint rules.
pub fn sarif(report: &Report, tool_version: &str) -> String {
    let lint_rules = all();
    let mut ids: Vec<&str> = lint_rules.iter().map(|r| r.id).collect();
    let mut rules: Vec<Value> = lint_rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": flat(r.what)},
                "help": {"text": flat(r.fix), "markdown": explain(r)},
                "defaultConfiguration": {"level": r.severity.sarif()},
            })
        })
        .collect();
    let mut codes: Vec<&str> = report
        .findings
        .iter()
        .map(|f| f.rule)
        .filter(|id| !ids.contains(id))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    for code in codes {
        let what = if code.starts_with("policy::") {
            "the policy file"
        } else {
            "the catalog"
        };
        rules.push(json!({
            "id": code,
            "name": code,
            "shortDescription": {"text": format!("gen refuses {what}: {code}")},
            "help": {"text": format!("Fix {what} at the reported place; `gen lint` shows the problem with its fix, and docs/catalog.md describes each key's rules.")},
            "defaultConfiguration": {"level": "error"},
        }));
        ids.push(code);
    }
    let index = |id: &str| ids.iter().position(|r| *r == id).unwrap_or(0);
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let (line, column) = f.line_col();
            let end = f
                .problem
                .source()
                .location(f.problem.span.end.max(f.problem.span.start));
            let mut v = json!({
                "ruleId": f.rule,
                "ruleIndex": index(f.rule),
                "level": f.severity.sarif(),
                "message": {"text": f.problem.shown_message()},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.problem.source().name()},
                        "region": {
                            "startLine": line,
                            "startColumn": column,
                            "endLine": end.0,
                            "endColumn": end.1,
                        }
                    }
                }]
            });
            if !f.environments.is_empty() {
                v["properties"] = json!({"environments": f.environments});
            }
            v
        })
        .collect();
    pretty(&json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gen",
                "version": tool_version,
                "rules": rules,
            }},
            "results": results,
        }]
    }))
}

/// `--format github`: workflow commands that annotate the pull request.
pub fn github(report: &Report) -> String {
    let mut s = String::new();
    for f in &report.findings {
        let (line, col) = f.line_col();
        let kind = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        s.push_str(&format!(
            "::{kind} file={},line={line},col={col},title={}::{}\n",
            escape_property(f.problem.source().name()),
            escape_property(f.rule),
            escape_data(&f.problem.shown_message())
        ));
    }
    s
}

/// Workflow command data: `%`, CR and LF are escaped.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command properties additionally escape `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn flat(md: &str) -> String {
    md.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `gen explain RULE`: the rule's documentation (Markdown).
pub fn explain(r: &Rule) -> String {
    let mut s = format!(
        "## `{}`\n\n{} · default severity **{}** · scope {}\n\n",
        r.id,
        r.summary,
        r.severity.as_str(),
        r.scope.as_str()
    );
    s.push_str(&format!("**What it checks.** {}\n\n", flat(r.what)));
    s.push_str(&format!("**Why it matters.** {}\n\n", flat(r.why)));
    s.push_str("**Example** (the marked line is reported):\n\n```yaml\n");
    s.push_str(r.example);
    s.push_str("```\n\n");
    s.push_str(&format!("**How to fix.** {}\n", flat(r.fix)));
    if !r.params.is_empty() {
        s.push_str("\n**Parameters** (`gen-policy.yaml`: `rules: {");
        s.push_str(r.id);
        s.push_str(": {params: {...}}}`):\n\n");
        for (k, d) in r.params {
            s.push_str(&format!("- `{k}` (default {d})\n"));
        }
    }
    s
}

/// `docs/rules.md`, generated from the rule metadata.
pub fn docs() -> String {
    let mut s = String::from(
        "<!-- Generated from the rule metadata (src/lint/rules/). Do not edit: run `GEN_BLESS=1 cargo test --test lint`. -->\n\n# Lint rules\n\n`gen lint` runs these rules over the catalog, the charts' rendered objects,\nthe flow table, the security groups and the K3s or EKS topology. Findings\npoint at the catalog line that causes them. Change a rule's severity, turn\nit off or set its parameters in `gen-policy.yaml` beside the catalog:\n\n```yaml\nrules:\n  cpu-limit: {enabled: false}\n  replicas-routed: {severity: error, params: {min: 3}}\n```\n\nSilence a rule for one service, with a reason, next to what it excuses:\n\n```yaml\nservices:\n  legacy:\n    waivers:\n      - {rule: port-privileged, reason: \"vendor image binds 80\", expires: \"2027-06-30\"}\n```\n\n| Rule | Severity | Scope | Summary |\n|---|---|---|---|\n",
    );
    for r in all() {
        s.push_str(&format!(
            "| [`{}`](#{}) | {} | {} | {} |\n",
            r.id,
            r.id,
            r.severity.as_str(),
            r.scope.as_str(),
            r.summary
        ));
    }
    s.push('\n');
    for r in all() {
        s.push_str(&explain(r));
        s.push('\n');
    }
    s.push_str(CHECKOV_MAP);
    s
}

/// How gen's rules relate to checkov's Kubernetes and AWS checks.
const CHECKOV_MAP: &str = include_str!("checkov-map.md");
