//! `gen rollback`: `kubectl rollout undo` for gen-managed Deployments (a
//! StatefulSet is refused: its data outlives the pod template), and
//! the instant switch back for blue-green services.
//!
//! - Rolling services (and canary services with `--to-revision N`): the
//!   Deployment's previous ReplicaSet (or revision N) holds the pod template
//!   to go back to. gen server-side applies the Deployment from the catalog
//!   with that template (as field manager `gen`, forced), so ownership stays
//!   with gen and the next `gen apply` rolls forward again to what the
//!   catalog says.
//! - Canary services: the new version is the canary, so rolling back aborts
//!   it: the canary's share of requests goes to 0 (the nginx canary
//!   Ingress's `canary-weight`, or the weights of the ALB forward action)
//!   and the canary Deployment is scaled to 0. The stable Deployment is not
//!   touched.
//! - Blue-green services: the Service's selector is switched to the other
//!   colour, if that colour has available pods.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::desired::{Desired, Obj};
use super::{ApplyError, Cluster, FIELD_MANAGER};
use crate::emit::manifests::TRACK_LABEL;

const REVISION: &str = "deployment.kubernetes.io/revision";
const INSTANCE: &str = "app.kubernetes.io/instance";

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// The object changed, e.g. `deployment/api -n platform`.
    pub what: String,
    /// From (a revision number or a colour).
    pub from: String,
    /// To.
    pub to: String,
}

fn objects_of<'a>(desired: &'a Desired, service: &str) -> Vec<&'a Obj> {
    desired
        .objects
        .iter()
        .filter(|o| o.body["metadata"]["labels"][INSTANCE].as_str() == Some(service))
        .collect()
}

/// Roll `service` back. `to_revision` picks a Deployment revision (rolling
/// services; for a canary service it rolls the stable Deployment back
/// instead of aborting the canary).
pub async fn rollback(
    cluster: &Cluster,
    desired: &Desired,
    service: &str,
    to_revision: Option<u64>,
) -> Result<RolledBack, ApplyError> {
    let objects = objects_of(desired, service);
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .copied()
            .find(|o| o.id.kind.kind == kind && o.id.name == name)
    };
    let blue = find("Deployment", &format!("{service}-blue"));
    let green = find("Deployment", &format!("{service}-green"));
    if let (Some(_), Some(_), Some(svc)) = (blue, green, find("Service", service)) {
        if to_revision.is_some() {
            return Err(ApplyError::Rollback {
                what: format!("service/{service}"),
                why: "it is blue-green: rolling back switches the live colour, there are no revisions".into(),
                help: format!("run `gen rollback {service} --context {}` without --to-revision", cluster.context),
            });
        }
        return switch_colour(cluster, svc, service).await;
    }
    if let (Some(canary), None) = (
        find("Deployment", &format!("{service}-canary")),
        to_revision,
    ) {
        return abort_canary(cluster, &objects, canary, service).await;
    }
    if let Some(sts) = find("StatefulSet", service) {
        // Its pods keep their volumes: the previous pod template would run
        // the old version on data the new one may have migrated, which
        // only the catalog's author can judge safe.
        let ns = sts.id.namespace.clone().unwrap_or_default();
        return Err(ApplyError::Rollback {
            what: format!("statefulset/{service} -n {ns}"),
            why: "it is stateful: its volumes keep what the current version wrote, and the previous version may not read it".into(),
            help: format!("set the previous image of `{service}` in the catalog and run `gen apply --context {}` once you know the old version reads the data (or restore the data from its backup first)", cluster.context),
        });
    }
    let Some(deploy) = find("Deployment", service) else {
        let known: Vec<String> = desired
            .objects
            .iter()
            .filter_map(|o| {
                o.body["metadata"]["labels"][INSTANCE]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let help = match crate::catalog::schema::closest(service, known.iter().map(String::as_str))
        {
            Some(c) => format!("did you mean `{c}`?"),
            None => format!("services: {}", known.join(", ")),
        };
        return Err(ApplyError::Rollback {
            what: format!("service `{service}`"),
            why: "the catalog has no such service".into(),
            help,
        });
    };
    undo(cluster, deploy, to_revision).await
}

async fn switch_colour(
    cluster: &Cluster,
    svc: &Obj,
    service: &str,
) -> Result<RolledBack, ApplyError> {
    let ns = svc.id.namespace.clone().unwrap_or_default();
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(cluster.client.clone(), &ns);
    let live = cluster
        .call(
            || format!("get service/{service} -n {ns}"),
            services.get_opt(service),
        )
        .await?
        .ok_or_else(|| not_on_cluster(format!("service/{service} -n {ns}"), cluster))?;
    let current = live
        .spec
        .as_ref()
        .and_then(|s| s.selector.as_ref())
        .and_then(|s| s.get(TRACK_LABEL))
        .cloned()
        .unwrap_or_default();
    let other = match current.as_str() {
        "blue" => "green",
        "green" => "blue",
        _ => {
            return Err(ApplyError::Rollback {
                what: format!("service/{service} -n {ns}"),
                why: format!("its selector has no `{TRACK_LABEL}: blue|green`"),
                help: "re-apply the catalog with `gen apply`, then retry".into(),
            })
        }
    };
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let target = format!("{service}-{other}");
    let live_target = cluster
        .call(
            || format!("get deployment/{target} -n {ns}"),
            deployments.get_opt(&target),
        )
        .await?;
    if let Some(why) = not_rolled_out(live_target.as_ref()) {
        return Err(ApplyError::Rollback {
            what: format!("service/{service} -n {ns}"),
            why: format!("deployment/{target} cannot take the traffic: {why}"),
            help: format!(
                "give the {other} colour an image and replicas in the catalog, `gen apply --wait` it, then retry"
            ),
        });
    }
    let mut body = svc.body.clone();
    body["spec"]["selector"][TRACK_LABEL] = Value::String(other.to_owned());
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    cluster
        .call(
            || format!("apply service/{service} -n {ns}"),
            services.patch(service, &pp, &Patch::Apply(&body)),
        )
        .await?;
    Ok(RolledBack {
        what: format!("service/{service} -n {ns}"),
        from: current,
        to: other.to_owned(),
    })
}

const NGINX_CANARY_WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";
const ALB_ACTIONS: &str = "alb.ingress.kubernetes.io/actions.";

/// The canary's share in an Ingress as gen renders it, and the Ingress with
/// that share set to 0; None if the Ingress splits no traffic.
fn without_canary(ingress: &Value) -> Option<(String, Value)> {
    let annotations = ingress["metadata"]["annotations"].as_object()?;
    if let Some(w) = annotations.get(NGINX_CANARY_WEIGHT).and_then(Value::as_str) {
        let mut body = ingress.clone();
        body["metadata"]["annotations"][NGINX_CANARY_WEIGHT] = Value::String("0".into());
        return Some((w.to_owned(), body));
    }
    for (key, action) in annotations {
        if !key.starts_with(ALB_ACTIONS) {
            continue;
        }
        let Ok(mut action) = serde_json::from_str::<Value>(action.as_str()?) else {
            continue;
        };
        let Some(groups) = action["forwardConfig"]["targetGroups"].as_array_mut() else {
            continue;
        };
        let mut share = None;
        for g in groups.iter_mut() {
            let canary = g["serviceName"]
                .as_str()
                .is_some_and(|n| n.ends_with("-canary"));
            if canary {
                share = Some(g["weight"].to_string());
            }
            g["weight"] = Value::from(if canary { 0 } else { 100 });
        }
        let Some(share) = share else {
            continue;
        };
        let mut body = ingress.clone();
        body["metadata"]["annotations"][key] = Value::String(action.to_string());
        return Some((share, body));
    }
    None
}

/// Abort a canary: no requests to it, no pods of it.
async fn abort_canary(
    cluster: &Cluster,
    objects: &[&Obj],
    canary: &Obj,
    service: &str,
) -> Result<RolledBack, ApplyError> {
    let ns = canary.id.namespace.clone().unwrap_or_default();
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let name = canary.id.name.clone();
    if cluster
        .call(
            || format!("get deployment/{name} -n {ns}"),
            deployments.get_opt(&name),
        )
        .await?
        .is_none()
    {
        return Err(not_on_cluster(
            format!("deployment/{name} -n {ns}"),
            cluster,
        ));
    }
    // Traffic first, then the pods that served it.
    let ingresses: Api<Ingress> = Api::namespaced(cluster.client.clone(), &ns);
    let mut shares = Vec::new();
    for o in objects.iter().filter(|o| o.id.kind.kind == "Ingress") {
        let Some((share, body)) = without_canary(&o.body) else {
            continue;
        };
        let ing = o.id.name.clone();
        cluster
            .call(
                || format!("apply ingress/{ing} -n {ns}"),
                ingresses.patch(&ing, &pp, &Patch::Apply(&body)),
            )
            .await?;
        shares.push(format!("{share}%"));
    }
    let mut body = canary.body.clone();
    body["spec"]["replicas"] = Value::from(0);
    cluster
        .call(
            || format!("apply deployment/{name} -n {ns}"),
            deployments.patch(&name, &pp, &Patch::Apply(&body)),
        )
        .await?;
    Ok(RolledBack {
        what: format!("canary of service/{service} -n {ns}"),
        from: if shares.is_empty() {
            "running (no Ingress sends it requests)".into()
        } else {
            format!("{} of requests", shares.join(", "))
        },
        to: format!("0% of requests, deployment/{name} scaled to 0"),
    })
}

/// Why a Deployment is not fully rolled out (None: it is): the controller
/// has seen its latest generation, and every desired replica is updated
/// and available, with no old one left.
fn not_rolled_out(d: Option<&Deployment>) -> Option<String> {
    let Some(d) = d else {
        return Some("it does not exist".into());
    };
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let generation = d.metadata.generation.unwrap_or(0);
    let st = d.status.clone().unwrap_or_default();
    let observed = st.observed_generation.unwrap_or(0);
    let (replicas, updated, available) = (
        st.replicas.unwrap_or(0),
        st.updated_replicas.unwrap_or(0),
        st.available_replicas.unwrap_or(0),
    );
    if want < 1 {
        Some("it has no replicas".into())
    } else if observed < generation {
        Some(format!(
            "its controller has not yet seen generation {generation} (observed {observed})"
        ))
    } else if updated != want || available != want || replicas != want {
        Some(format!(
            "{available} of {want} replicas available, {updated} updated, {replicas} in all"
        ))
    } else {
        None
    }
}

/// `what` should be on the cluster, and is not: gen has not applied it yet.
fn not_on_cluster(what: String, cluster: &Cluster) -> ApplyError {
    ApplyError::Rollback {
        what,
        why: "it does not exist on the cluster".into(),
        help: format!("apply first: `gen apply --context {}`", cluster.context),
    }
}

fn revision(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<u64> {
    meta.annotations.as_ref()?.get(REVISION)?.parse().ok()
}

async fn undo(
    cluster: &Cluster,
    deploy: &Obj,
    to_revision: Option<u64>,
) -> Result<RolledBack, ApplyError> {
    let ns = deploy.id.namespace.clone().unwrap_or_default();
    let name = deploy.id.name.clone();
    let what = format!("deployment/{name} -n {ns}");
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let live = cluster
        .call(|| format!("get {what}"), deployments.get_opt(&name))
        .await?
        .ok_or_else(|| not_on_cluster(what.clone(), cluster))?;
    if live.spec.as_ref().and_then(|s| s.paused) == Some(true) {
        return Err(ApplyError::Rollback {
            what,
            why: "it is paused: a paused Deployment does not roll, back or forth".into(),
            help: format!(
                "resume it first (`kubectl rollout resume deployment/{name} -n {ns}`), then retry"
            ),
        });
    }
    let current = revision(&live.metadata).unwrap_or(0);
    let uid = live.metadata.uid.clone().unwrap_or_default();
    let selector = live
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let replicasets: Api<ReplicaSet> = Api::namespaced(cluster.client.clone(), &ns);
    let list = cluster
        .call(
            || format!("list replicasets -n {ns}"),
            replicasets.list(&ListParams::default().labels(&selector)),
        )
        .await?;
    let mut owned: Vec<(u64, ReplicaSet)> = list
        .items
        .into_iter()
        .filter(|rs| {
            rs.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid && o.controller == Some(true))
        })
        .filter_map(|rs| revision(&rs.metadata).map(|r| (r, rs)))
        .collect();
    owned.sort_by_key(|(r, _)| *r);
    let revisions: Vec<String> = owned.iter().map(|(r, _)| r.to_string()).collect();
    let pick = match to_revision {
        Some(n) => owned.iter().find(|(r, _)| *r == n),
        None => owned.iter().rev().find(|(r, _)| *r < current),
    };
    let Some((rev, rs)) = pick else {
        let why = match to_revision {
            Some(n) => format!("revision {n} does not exist"),
            None => format!("revision {current} is the oldest one left"),
        };
        return Err(ApplyError::Rollback {
            what,
            why,
            help: if revisions.is_empty() {
                "the cluster keeps no ReplicaSet history for it".into()
            } else {
                format!("revisions on the cluster: {}", revisions.join(", "))
            },
        });
    };
    if *rev == current {
        return Err(ApplyError::Rollback {
            what,
            why: format!("revision {rev} is already the current one"),
            help: format!("revisions on the cluster: {}", revisions.join(", ")),
        });
    }
    let mut template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    let mut body = deploy.body.clone();
    body["spec"]["template"] = template;
    // The catalog's object with the old pod template. Only template fields
    // are taken over from other managers: a conflict anywhere else (someone
    // scaled by hand, say) is reported, not overwritten.
    let pp = PatchParams::apply(FIELD_MANAGER);
    match cluster
        .bounded(
            &|| format!("apply {what}"),
            deployments.patch(&name, &pp, &Patch::Apply(&body)),
        )
        .await?
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let fields: Vec<String> = s
                .details
                .iter()
                .flat_map(|d| &d.causes)
                .map(|c| c.field.clone())
                .collect();
            let outside: Vec<&String> = fields
                .iter()
                .filter(|f| !f.starts_with(".spec.template"))
                .collect();
            if fields.is_empty() || !outside.is_empty() {
                return Err(ApplyError::Rollback {
                    what,
                    why: format!(
                        "other field managers own fields outside the pod template: {}",
                        if outside.is_empty() {
                            s.message.clone()
                        } else {
                            outside.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
                        }
                    ),
                    help: format!(
                        "see who (`kubectl get deployment/{name} -n {ns} --show-managed-fields -o yaml`), then `gen apply --force-conflicts` to restore the catalog's values, and retry"
                    ),
                });
            }
            cluster
                .call(
                    || format!("apply {what}"),
                    deployments.patch(&name, &pp.clone().force(), &Patch::Apply(&body)),
                )
                .await?;
        }
        Err(e) => return Err(cluster.error(&format!("apply {what}"), e)),
    }
    Ok(RolledBack {
        what,
        from: format!("revision {current}"),
        to: format!("revision {rev}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_nginx_canary_weight_goes_to_zero() {
        let ing = json!({"metadata": {"name": "search-canary", "annotations": {
            "nginx.ingress.kubernetes.io/canary": "true",
            NGINX_CANARY_WEIGHT: "20"}}});
        let (share, body) = without_canary(&ing).expect("a canary Ingress");
        assert_eq!(share, "20");
        assert_eq!(body["metadata"]["annotations"][NGINX_CANARY_WEIGHT], "0");
        assert_eq!(
            body["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary"],
            "true"
        );
    }

    #[test]
    fn the_alb_forward_action_sends_everything_to_stable() {
        let action = r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"search","servicePort":"http","weight":80},{"serviceName":"search-canary","servicePort":"http","weight":20}]}}"#;
        let key = format!("{ALB_ACTIONS}search");
        let ing = json!({"metadata": {"name": "search", "annotations": {
            key.clone(): action, "alb.ingress.kubernetes.io/scheme": "internet-facing"}}});
        let (share, body) = without_canary(&ing).expect("a weighted action");
        assert_eq!(share, "20");
        let after: Value =
            serde_json::from_str(body["metadata"]["annotations"][&key].as_str().unwrap()).unwrap();
        let weights: Vec<(String, i64)> = after["forwardConfig"]["targetGroups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["serviceName"].as_str().unwrap().to_owned(),
                    g["weight"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            weights,
            [("search".to_owned(), 100), ("search-canary".to_owned(), 0)]
        );
    }

    #[test]
    fn an_ingress_without_a_split_is_left_alone() {
        let plain = json!({"metadata": {"name": "catalog", "annotations": {
            "nginx.ingress.kubernetes.io/ssl-redirect": "true"}}});
        assert!(without_canary(&plain).is_none());
        assert!(without_canary(&json!({"metadata": {"name": "x"}})).is_none());
    }
}
