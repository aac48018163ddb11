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
mod blue_green_same_image;
mod canary_weight_high;
mod canary_weight_zero;
mod cpu_limit;
mod hpa_cpu_request_defaulted;
mod hpa_cpu_target_high;
mod hpa_memory_metric;
mod hpa_range_narrow;
mod memory_limit_ratio;
mod probe_delay_long;
mod probe_tcp_for_http;
mod readiness_equals_liveness;
mod requests_defaulted;
mod rolling_no_surge;
mod rolling_unavailable_high;
mod single_replica;
mod written;
// section B mods
mod api_unavailable;
mod egress_world;
mod env_high_entropy;
mod env_url_credentials;
mod image_digest_preferred;
mod image_implicit_registry;
mod ingress_redirect_off;
mod ingress_tls_missing;
mod kubernetes_eol;
mod namespace_default;
mod namespace_system;
mod route_prefix_overlap;
// section C mods
mod admin_cidr_wide;
mod asg_min_low;
mod aws_no_bastion;
mod aws_single_zone;
mod database_unused;
mod k3s_cis_off;
mod k3s_host_gw_multi_zone;
mod k3s_no_agents;
mod k3s_pod_traffic_unencrypted;
mod k3s_single_server;
mod routes_without_load_balancer;

/// Every rule.
pub static ALL: &[&Rule] = &[
    &port_privileged::RULE,
    &replicas_routed::RULE,
    &secret_env_literal::RULE,
    &waiver_expired::RULE,
    &ssh_from_world::RULE,
    // section A rules
    &blue_green_same_image::RULE,
    &canary_weight_high::RULE,
    &canary_weight_zero::RULE,
    &cpu_limit::RULE,
    &hpa_cpu_request_defaulted::RULE,
    &hpa_cpu_target_high::RULE,
    &hpa_memory_metric::RULE,
    &hpa_range_narrow::RULE,
    &memory_limit_ratio::RULE,
    &probe_delay_long::RULE,
    &probe_tcp_for_http::RULE,
    &readiness_equals_liveness::RULE,
    &requests_defaulted::RULE,
    &rolling_no_surge::RULE,
    &rolling_unavailable_high::RULE,
    &single_replica::RULE,
    // section B rules
    &api_unavailable::RULE,
    &egress_world::RULE,
    &env_high_entropy::RULE,
    &env_url_credentials::RULE,
    &image_digest_preferred::RULE,
    &image_implicit_registry::RULE,
    &ingress_redirect_off::RULE,
    &ingress_tls_missing::RULE,
    &kubernetes_eol::RULE,
    &namespace_default::RULE,
    &namespace_system::RULE,
    &route_prefix_overlap::RULE,
    // section C rules
    &admin_cidr_wide::RULE,
    &asg_min_low::RULE,
    &aws_no_bastion::RULE,
    &aws_single_zone::RULE,
    &database_unused::RULE,
    &k3s_cis_off::RULE,
    &k3s_host_gw_multi_zone::RULE,
    &k3s_no_agents::RULE,
    &k3s_pod_traffic_unencrypted::RULE,
    &k3s_single_server::RULE,
    &routes_without_load_balancer::RULE,
];

/// `/services/<name>` (escaped).
pub fn svc(name: &str) -> String {
    push_pointer("/services", name)
}

/// `/services/<name>/<key>`.
pub fn svc_key(name: &str, key: &str) -> String {
    push_pointer(&svc(name), key)
}
