//! The built-in rules, one file each. Register a rule by adding its module
//! and its `RULE` to [`ALL`] in the section of its scope.

use crate::catalog::push_pointer;

use super::Rule;

// --- workloads ---
mod port_privileged;
mod replicas_routed;
// --- catalog ---
mod secret_env_literal;
mod waiver_expired;
// --- network ---
mod ssh_from_world;
// --- more (sections A, B, C) ---
// section A mods
// section B mods
// section C mods

/// Every rule.
pub static ALL: &[&Rule] = &[
    &port_privileged::RULE,
    &replicas_routed::RULE,
    &secret_env_literal::RULE,
    &waiver_expired::RULE,
    &ssh_from_world::RULE,
    // section A rules
    // section B rules
    // section C rules
];

/// `/services/<name>` (escaped).
pub fn svc(name: &str) -> String {
    push_pointer("/services", name)
}

/// `/services/<name>/<key>`.
pub fn svc_key(name: &str, key: &str) -> String {
    push_pointer(&svc(name), key)
}
