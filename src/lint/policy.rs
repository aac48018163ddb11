//! The policy file, `gen-policy.yaml` beside the catalog:
//!
//! ```yaml
//! rules:
//!   cpu-limit: {enabled: false}
//!   replicas-routed: {severity: error, params: {min: 3}}
//! ```
//!
//! Unknown rule ids, keys and severities are located errors.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::Severity;
use crate::catalog::push_pointer;
use crate::catalog::schema::closest;
use crate::diag::{Problem, Problems, SourceFile};

/// Settings of one rule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePolicy {
    /// Run the rule (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Override the default severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Rule parameters.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    rules: BTreeMap<String, RulePolicy>,
}

/// The effective policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: BTreeMap<String, RulePolicy>,
}

impl Policy {
    /// Parse a policy file.
    pub fn parse(name: &str, text: &str) -> Result<Policy, Problems> {
        let src = SourceFile::new(name, text);
        let loaded = crate::catalog::yaml::load(&src).map_err(|p| Problems(p).finish())?;
        if !loaded.problems.is_empty() {
            return Err(Problems(loaded.problems).finish());
        }
        if loaded.value.is_null() {
            return Ok(Policy::default());
        }
        let file: PolicyFile = match serde_path_to_error::deserialize(&loaded.value) {
            Ok(f) => f,
            Err(e) => {
                let ptr = path_to_pointer(&e.path().to_string());
                let p = Problem::new(
                    &src,
                    "policy::invalid",
                    loaded.spans.key_or_value(&ptr),
                    format!("invalid policy: {}", e.inner()),
                )
                .help("a policy looks like `rules: {<rule id>: {enabled: false, severity: warning, params: {...}}}`; severities are error, warning, info");
                return Err(Problems(vec![p]));
            }
        };
        let ids: Vec<&str> = super::all().iter().map(|r| r.id).collect();
        let mut problems = Vec::new();
        for id in file.rules.keys() {
            if !super::is_rule(id) {
                let help = match closest(id, ids.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`? `gen rules` lists every rule"),
                    None => "`gen rules` lists every rule".to_owned(),
                };
                problems.push(
                    Problem::new(
                        &src,
                        "policy::unknown-rule",
                        loaded.spans.key_or_value(&push_pointer("/rules", id)),
                        format!("no rule `{id}`"),
                    )
                    .help(help),
                );
            }
        }
        if !problems.is_empty() {
            return Err(Problems(problems).finish());
        }
        Ok(Policy { rules: file.rules })
    }

    /// Whether a rule runs.
    pub fn enabled(&self, id: &str) -> bool {
        self.rules.get(id).and_then(|r| r.enabled).unwrap_or(true)
    }

    /// The severity the policy sets for a rule.
    pub fn severity(&self, id: &str) -> Option<Severity> {
        self.rules.get(id).and_then(|r| r.severity)
    }

    /// A rule parameter.
    pub fn param(&self, id: &str, name: &str) -> Option<&Value> {
        self.rules.get(id).and_then(|r| r.params.get(name))
    }
}

/// `rules.x.severity` -> `/rules/x/severity`.
fn path_to_pointer(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    let mut p = String::new();
    for seg in path.split('.') {
        p = push_pointer(&p, seg.trim_end_matches('?'));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_rule_is_located_with_a_suggestion() {
        let e = Policy::parse(
            "gen-policy.yaml",
            "rules:\n  port-privilegd: {enabled: false}\n",
        )
        .unwrap_err();
        let p = &e.0[0];
        assert_eq!(p.code, "policy::unknown-rule");
        assert_eq!(p.line_col(), (2, 3));
        assert!(p.help.as_deref().unwrap().contains("port-privileged"));
    }

    #[test]
    fn severity_and_params_apply() {
        let p = Policy::parse(
            "p.yaml",
            "rules:\n  replicas-routed: {severity: error, params: {min: 3}}\n  port-privileged: {enabled: false}\n",
        )
        .unwrap();
        assert_eq!(p.severity("replicas-routed"), Some(Severity::Error));
        assert_eq!(p.param("replicas-routed", "min"), Some(&Value::from(3)));
        assert!(!p.enabled("port-privileged"));
        assert!(p.enabled("anything-else"));
    }

    #[test]
    fn bad_severity_is_an_error() {
        let e =
            Policy::parse("p.yaml", "rules:\n  port-privileged: {severity: fatal}\n").unwrap_err();
        assert_eq!(e.0[0].code, "policy::invalid");
    }
}
