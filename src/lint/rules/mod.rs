//! The built-in rules, one file each (`written` is a helper of several).
//! Register a rule by adding its module and its `RULE` to [`ALL`];
//! [`super::all`] sorts them by id.

use crate::catalog::push_pointer;

use super::Rule;

mod admin_cidr_wide;
mod api_unavailable;
mod asg_min_low;
mod aws_no_bastion;
mod aws_single_zone;
mod blue_green_same_image;
mod canary_weight_high;
mod canary_weight_zero;
mod cpu_limit;
mod cronjob_concurrent_runs;
mod cronjob_without_deadline;
mod database_unused;
mod egress_world;
mod eks_no_nodes;
mod eks_public_endpoint;
mod eks_public_endpoint_open;
mod eks_single_zone_node_group;
mod eks_spot_only;
mod eks_spot_single_instance_type;
mod eks_version_support;
mod env_high_entropy;
mod env_url_credentials;
mod hpa_cpu_request_defaulted;
mod hpa_cpu_target_high;
mod hpa_memory_metric;
mod hpa_range_narrow;
mod hpa_without_metrics_server;
mod image_digest_preferred;
mod image_implicit_registry;
mod ingress_alb_k3s_overlay;
mod ingress_redirect_off;
mod ingress_tls_missing;
mod k3s_cis_off;
mod k3s_host_gw_multi_zone;
mod k3s_no_agents;
mod k3s_pod_traffic_unencrypted;
mod k3s_single_server;
mod kubernetes_eol;
mod memory_limit_ratio;
mod namespace_default;
mod namespace_system;
mod port_privileged;
mod probe_delay_long;
mod probe_tcp_for_http;
mod rbac_wildcard;
mod readiness_equals_liveness;
mod replicas_routed;
mod requests_defaulted;
mod rolling_no_surge;
mod rolling_unavailable_high;
mod route_prefix_overlap;
mod routes_without_load_balancer;
mod secret_env_literal;
mod security_override;
mod single_replica;
mod ssh_from_world;
mod stateful_single_replica;
mod volume_node_pinned;
mod waiver_expired;
mod writable_root;
mod written;

/// Every rule.
pub static ALL: &[&Rule] = &[
    &admin_cidr_wide::RULE,
    &api_unavailable::RULE,
    &asg_min_low::RULE,
    &aws_no_bastion::RULE,
    &aws_single_zone::RULE,
    &blue_green_same_image::RULE,
    &canary_weight_high::RULE,
    &canary_weight_zero::RULE,
    &cpu_limit::RULE,
    &cronjob_concurrent_runs::RULE,
    &cronjob_without_deadline::RULE,
    &database_unused::RULE,
    &egress_world::RULE,
    &eks_no_nodes::RULE,
    &eks_public_endpoint::RULE,
    &eks_public_endpoint_open::RULE,
    &eks_single_zone_node_group::RULE,
    &eks_spot_only::RULE,
    &eks_spot_single_instance_type::RULE,
    &eks_version_support::RULE,
    &env_high_entropy::RULE,
    &env_url_credentials::RULE,
    &hpa_cpu_request_defaulted::RULE,
    &hpa_cpu_target_high::RULE,
    &hpa_memory_metric::RULE,
    &hpa_range_narrow::RULE,
    &hpa_without_metrics_server::RULE,
    &image_digest_preferred::RULE,
    &image_implicit_registry::RULE,
    &ingress_alb_k3s_overlay::RULE,
    &ingress_redirect_off::RULE,
    &ingress_tls_missing::RULE,
    &k3s_cis_off::RULE,
    &k3s_host_gw_multi_zone::RULE,
    &k3s_no_agents::RULE,
    &k3s_pod_traffic_unencrypted::RULE,
    &k3s_single_server::RULE,
    &kubernetes_eol::RULE,
    &memory_limit_ratio::RULE,
    &namespace_default::RULE,
    &namespace_system::RULE,
    &port_privileged::RULE,
    &rbac_wildcard::RULE,
    &security_override::RULE,
    &writable_root::RULE,
    &probe_delay_long::RULE,
    &probe_tcp_for_http::RULE,
    &readiness_equals_liveness::RULE,
    &replicas_routed::RULE,
    &requests_defaulted::RULE,
    &rolling_no_surge::RULE,
    &rolling_unavailable_high::RULE,
    &route_prefix_overlap::RULE,
    &routes_without_load_balancer::RULE,
    &secret_env_literal::RULE,
    &single_replica::RULE,
    &ssh_from_world::RULE,
    &stateful_single_replica::RULE,
    &volume_node_pinned::RULE,
    &waiver_expired::RULE,
];

/// `/services/<name>` (escaped).
pub fn svc(name: &str) -> String {
    push_pointer("/services", name)
}

/// `/services/<name>/<key>`.
pub fn svc_key(name: &str, key: &str) -> String {
    push_pointer(&svc(name), key)
}
