//! The StatefulSet of a service with persistent volumes: gen's twin of
//! `blueprints/chart/templates/statefulset.yaml`. Its pod is the shared
//! `manifests::pod_template`; what is its own is the claims, the headless
//! Service that names its pods, and an ordered rolling update.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimStatus,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::helm::values::Values;
use super::manifests::{meta, pod_template, to_i32, track_labels, Release, Track};

/// The headless Service beside the service's own: it gives each pod a
/// stable DNS name (`<pod>.<name>-headless`), which the StatefulSet's
/// `serviceName` requires.
pub fn headless_name(r: &Release) -> String {
    format!("{}-headless", r.name)
}

/// The StatefulSet of the one (rolling) track.
pub(super) fn statefulset(v: &Values, r: &Release, t: &Track) -> StatefulSet {
    let (l, selector) = track_labels(v, r, t);
    let spread = t.autoscaled || t.replicas > 1;
    let claims = v
        .volumes
        .iter()
        .map(|vol| PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some(vol.name.clone()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec![vol.access_mode.clone()]),
                storage_class_name: vol.storage_class_name.clone(),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([("storage".to_owned(), vol.size.clone())])),
                    ..Default::default()
                }),
                volume_mode: Some("Filesystem".into()),
                ..Default::default()
            }),
            // The API server's defaults, written out: volumeClaimTemplates
            // is an atomic list, so a template without them differs from
            // the live one (a conflict when another manager owns it).
            status: Some(PersistentVolumeClaimStatus {
                phase: Some("Pending".into()),
                ..Default::default()
            }),
        })
        .collect();
    StatefulSet {
        metadata: meta(&t.name, r, l.clone()),
        spec: Some(StatefulSetSpec {
            service_name: Some(headless_name(r)),
            replicas: (!t.autoscaled).then(|| to_i32(t.replicas)),
            revision_history_limit: Some(10),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            },
            // One pod at a time, in ordinal order, each Ready before the
            // next: a clustered store (a primary on ordinal 0) comes up
            // and rolls in an order it can follow.
            pod_management_policy: Some("OrderedReady".into()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                ..Default::default()
            }),
            // The data outlives the StatefulSet and its scale-downs: a
            // pruned or renamed service, or an HPA scaling in, must not
            // delete a claim; scaling out again finds it.
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Retain".into()),
                    when_scaled: Some("Retain".into()),
                },
            ),
            template: pod_template(v, r, t.image, l, &selector, spread, None),
            volume_claim_templates: Some(claims),
            ..Default::default()
        }),
        ..Default::default()
    }
}
