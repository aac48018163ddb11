//! The Kubernetes objects each service becomes, by kind and name, and the
//! check that no two of them share a (namespace, kind, name).
//!
//! [`of_service`] is the one list of a service's objects: the collision
//! check reads it here, and `emit::manifests` holds every rendered file to
//! it (a rendered object it does not list is an internal error), so a kind
//! the renderer learns later cannot slip past the check.

use std::collections::BTreeMap;

use super::{Model, Scaling, ServiceModel, StrategyModel, Workload};
use crate::catalog::types::IngressClass;

/// A namespaced object of a service.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    /// Kubernetes kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
    /// The service's catalog key that makes this object exist (`strategy`
    /// for a canary track, `hpa` for an autoscaler), None when every
    /// service has it.
    pub because: Option<&'static str>,
}

/// Every object the service's chart renders with the model's values, in
/// no particular order.
pub fn of_service(model: &Model, svc: &ServiceModel) -> Vec<ObjectId> {
    let id = |kind, name: String, because| ObjectId {
        kind,
        name,
        because,
    };
    let base = || svc.name.clone();
    let suffixed = |s: &str| format!("{}-{s}", svc.name);
    let strategy = Some("strategy");
    let service = Some("service_name").filter(|_| svc.service_name != svc.name);
    let mut v = vec![
        id("ServiceAccount", base(), None),
        id("NetworkPolicy", base(), None),
    ];
    if !svc.env.is_empty() {
        v.push(id("ConfigMap", suffixed("env"), Some("env")));
    }
    if !svc.container.files.is_empty() {
        v.push(id("ConfigMap", suffixed("files"), Some("files")));
    }
    if !svc.container.rules.is_empty() {
        v.push(id("Role", base(), Some("service_account")));
        v.push(id("RoleBinding", base(), Some("service_account")));
    }
    // One-off jobs: the name carries the hash of the pod (see
    // `model::jobs::job_name`), so it is the model's, never re-derived here.
    for j in &svc.jobs {
        v.push(id("Job", j.name.clone(), Some("jobs")));
    }
    if svc.schedule.is_some() {
        v.push(id("CronJob", base(), Some("schedule")));
        return v;
    }
    v.push(id("Service", svc.service_name.clone(), service));
    // Deployment tracks, and which of them an HPA scales.
    let tracks: Vec<(String, Option<&'static str>, bool)> = match &svc.strategy {
        StrategyModel::Rolling { .. } => vec![(base(), None, true)],
        StrategyModel::BlueGreen { .. } => vec![
            (suffixed("blue"), strategy, true),
            (suffixed("green"), strategy, true),
        ],
        StrategyModel::Canary { .. } => {
            let name = format!("{}-canary", svc.service_name);
            v.push(id("Service", name, strategy));
            vec![(base(), None, true), (suffixed("canary"), strategy, false)]
        }
    };
    let autoscaled = matches!(svc.scaling, Scaling::Auto { .. });
    // A service with volumes is one StatefulSet, named by a headless Service.
    let stateful = matches!(svc.workload, Workload::StatefulSet { .. });
    let (workload, workload_because) = if stateful {
        v.push(id("Service", suffixed("headless"), Some("volumes")));
        ("StatefulSet", Some("volumes"))
    } else {
        ("Deployment", None)
    };
    for (name, because, scaled) in tracks {
        if scaled && autoscaled {
            v.push(id("HorizontalPodAutoscaler", name.clone(), Some("hpa")));
        }
        v.push(id(workload, name, because.or(workload_because)));
    }
    if svc.min_available.is_some() {
        v.push(id("PodDisruptionBudget", base(), Some("min_available")));
    } else if svc.scaling.guaranteed() >= 2 {
        let because = if autoscaled { "hpa" } else { "replicas" };
        v.push(id("PodDisruptionBudget", base(), Some(because)));
    }
    if !svc.routes.is_empty() {
        v.push(id("Ingress", base(), Some("routes")));
        let nginx = model
            .ingress
            .as_ref()
            .is_none_or(|i| i.class == IngressClass::Nginx);
        if nginx && matches!(svc.strategy, StrategyModel::Canary { .. }) {
            v.push(id("Ingress", suffixed("canary"), strategy));
        }
    }
    v
}

/// Two services whose objects share (namespace, kind, name).
#[derive(Debug, Clone)]
pub struct Collision {
    /// Index (in `model.services`) of the service that makes them first.
    pub first: usize,
    /// Index of the other service.
    pub second: usize,
    /// The shared objects: the first service's and the second's, per kind.
    pub objects: Vec<(ObjectId, ObjectId)>,
}

/// Every pair of services with objects of the same namespace, kind and
/// name. `order` ranks services (say, by their position in the file): the
/// lower rank is the `first` of a pair.
pub fn collisions(model: &Model, order: impl Fn(usize) -> usize) -> Vec<Collision> {
    let mut owner: BTreeMap<(&str, &'static str, String), (usize, ObjectId)> = BTreeMap::new();
    let mut pairs: BTreeMap<(usize, usize), Vec<(ObjectId, ObjectId)>> = BTreeMap::new();
    let mut all: Vec<(usize, ObjectId)> = model
        .services
        .iter()
        .enumerate()
        .flat_map(|(i, s)| of_service(model, s).into_iter().map(move |o| (i, o)))
        .collect();
    all.sort_by_key(|(i, o)| (order(*i), o.clone()));
    for (i, o) in all {
        let key = (model.services[i].namespace.as_str(), o.kind, o.name.clone());
        match owner.get(&key) {
            Some((j, first)) if *j != i => {
                pairs.entry((*j, i)).or_default().push((first.clone(), o));
            }
            Some(_) => {}
            None => {
                owner.insert(key, (i, o));
            }
        }
    }
    let mut out: Vec<Collision> = pairs
        .into_iter()
        .map(|((first, second), objects)| Collision {
            first,
            second,
            objects,
        })
        .collect();
    out.sort_by_key(|c| (order(c.second), order(c.first)));
    out
}
