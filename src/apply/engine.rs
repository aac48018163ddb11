//! Discovery, server-side apply, dry runs, pruning and the data `gen diff`
//! shows.
//!
//! Every object is sent with `PATCH` and `Content-Type:
//! application/apply-patch+yaml`, `fieldManager=gen` (server-side apply), so
//! the API server merges it and tracks which fields gen owns: fields another
//! manager owns with a different value are reported as conflicts, never
//! silently overwritten (unless `--force-conflicts`).

use std::collections::{BTreeMap, BTreeSet};

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery;
use serde_json::Value;

use super::desired::{ApplySet, Desired, Kind, ObjectRef, PARENT_NAMESPACE, PART_OF};
use super::{ApplyError, Cluster, FIELD_MANAGER};

/// What happened (or, in a dry run, would happen) to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// It did not exist.
    Created,
    /// It existed and changed.
    Configured,
    /// It existed and the apply changed nothing.
    Unchanged,
    /// It carried the project's ApplySet label but is no longer in the
    /// catalog, and was deleted.
    Pruned,
    /// A Namespace no longer in the catalog: never deleted by gen (deleting
    /// it would delete everything in it, gen's or not).
    Kept,
    /// Another field manager owns fields gen sets, with other values.
    Conflict(Vec<Conflict>),
}

impl Change {
    /// The word the summary uses.
    pub fn as_str(&self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Configured => "configured",
            Change::Unchanged => "unchanged",
            Change::Pruned => "pruned",
            Change::Kept => "kept",
            Change::Conflict(_) => "conflict",
        }
    }
}

/// One field another manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The field, e.g. `.spec.replicas`.
    pub field: String,
    /// The server's message, e.g. `conflict with "kubectl-edit" using apps/v1`.
    pub message: String,
}

/// The outcome for one object.
#[derive(Debug, Clone)]
pub struct ObjectResult {
    /// Which object.
    pub id: ObjectRef,
    /// What happened.
    pub change: Change,
    /// The live object before (None when absent).
    pub before: Option<Value>,
    /// The object after the apply or dry run (None when deleted or refused).
    pub after: Option<Value>,
}

/// The outcome of one `apply` run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Whether nothing was changed (server-side dry run).
    pub dry_run: bool,
    /// Per object, in apply order, then the pruned ones.
    pub objects: Vec<ObjectResult>,
}

impl Report {
    /// How many objects had each outcome, in a fixed order.
    pub fn totals(&self) -> Vec<(&'static str, usize)> {
        let mut t: Vec<(&'static str, usize)> = [
            "created",
            "configured",
            "unchanged",
            "pruned",
            "kept",
            "conflict",
        ]
        .iter()
        .map(|w| (*w, 0))
        .collect();
        for o in &self.objects {
            if let Some(e) = t.iter_mut().find(|(w, _)| *w == o.change.as_str()) {
                e.1 += 1;
            }
        }
        t
    }

    /// Objects refused with conflicts.
    pub fn conflicts(&self) -> impl Iterator<Item = (&ObjectRef, &[Conflict])> {
        self.objects.iter().filter_map(|o| match &o.change {
            Change::Conflict(c) => Some((&o.id, c.as_slice())),
            _ => None,
        })
    }

    /// Whether anything changed (or would).
    pub fn changed(&self) -> bool {
        self.objects.iter().any(|o| {
            matches!(
                o.change,
                Change::Created | Change::Configured | Change::Pruned
            )
        })
    }
}

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Server-side dry run: send `dryRun=All`, change nothing.
    pub dry_run: bool,
    /// Take ownership of fields other managers own (`force=true`).
    pub force_conflicts: bool,
    /// Delete ApplySet members no longer in the catalog.
    pub prune: bool,
}

/// The API resources of `kinds`, from the server's discovery documents.
/// This is the first request gen sends, so an unreachable server or bad
/// credentials fail here.
pub async fn discover(
    cluster: &Cluster,
    kinds: &BTreeSet<Kind>,
) -> Result<BTreeMap<Kind, ApiResource>, ApplyError> {
    let mut out = BTreeMap::new();
    let mut by_gv: BTreeMap<(&str, &str), Vec<Kind>> = BTreeMap::new();
    for k in kinds {
        by_gv.entry((k.group, k.version)).or_default().push(*k);
    }
    for ((group, version), ks) in by_gv {
        for k in ks {
            let gvk = GroupVersionKind::gvk(group, version, k.kind);
            let (ar, _) = cluster
                .call(
                    || format!("discovery of {}", k.api_version()),
                    discovery::pinned_kind(&cluster.client, &gvk),
                )
                .await?;
            out.insert(k, ar);
        }
    }
    Ok(out)
}

/// The API for objects of `ar` in `namespace` (or cluster-wide).
fn api(cluster: &Cluster, ar: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(cluster.client.clone(), ns, ar),
        None => Api::all_with(cluster.client.clone(), ar),
    }
}

fn to_value(o: &DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

fn status_of(e: &ApplyError) -> u16 {
    match e {
        ApplyError::Api { code, .. } => *code,
        _ => 0,
    }
}

/// GET an object; `None` when it does not exist.
pub async fn get(
    cluster: &Cluster,
    ar: &ApiResource,
    id: &ObjectRef,
) -> Result<Option<Value>, ApplyError> {
    let a = api(cluster, ar, id.namespace.as_deref());
    let got = cluster
        .call(|| format!("get {id}"), a.get_opt(&id.name))
        .await?;
    Ok(got.as_ref().map(to_value))
}

/// What an apply of `body` gave: the object, or the conflicting fields.
enum Applied {
    Object(Value),
    Conflict(Vec<Conflict>),
    /// Dry run only: the namespace does not exist yet (it is created by the
    /// same apply), so the server cannot dry-run the object.
    NamespacePending,
}

/// Server-side apply of one object.
async fn ssa(
    cluster: &Cluster,
    ar: &ApiResource,
    id: &ObjectRef,
    body: &Value,
    opts: Options,
) -> Result<Applied, ApplyError> {
    let a = api(cluster, ar, id.namespace.as_deref());
    let mut pp = PatchParams::apply(FIELD_MANAGER);
    pp.force = opts.force_conflicts;
    pp.dry_run = opts.dry_run;
    let what = || format!("{}apply {id}", if opts.dry_run { "dry-run " } else { "" });
    match cluster
        .bounded(&what, a.patch(&id.name, &pp, &Patch::Apply(body)))
        .await?
    {
        Ok(o) => Ok(Applied::Object(to_value(&o))),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Applied::Conflict(conflicts_of(&s))),
        Err(kube::Error::Api(s)) if opts.dry_run && s.code == 404 && id.namespace.is_some() => {
            Ok(Applied::NamespacePending)
        }
        Err(e) => Err(cluster.error(&what(), e)),
    }
}

/// The per-field conflicts of a 409, from the Status causes (or its message
/// when it has none).
fn conflicts_of(s: &kube::core::Status) -> Vec<Conflict> {
    let causes: Vec<Conflict> = s
        .details
        .iter()
        .flat_map(|d| &d.causes)
        .map(|c| Conflict {
            field: c.field.clone(),
            message: c.message.clone(),
        })
        .collect();
    if causes.is_empty() {
        vec![Conflict {
            field: String::new(),
            message: s.message.clone(),
        }]
    } else {
        causes
    }
}

/// Apply every desired object in order; then, with `prune`, delete the
/// ApplySet's members that are no longer desired. A run with conflicts
/// prunes nothing.
pub async fn apply(
    cluster: &Cluster,
    desired: &Desired,
    opts: Options,
) -> Result<Report, ApplyError> {
    let parent_kind = Kind::of("v1", "ConfigMap").unwrap_or(super::desired::KINDS[2]);
    let mut kinds = desired.kinds();
    kinds.insert(parent_kind);
    let resources = discover(cluster, &kinds).await?;
    let parent_id = ObjectRef {
        kind: parent_kind,
        namespace: Some(PARENT_NAMESPACE.to_owned()),
        name: desired.applyset.parent.clone(),
    };
    let parent_ar = &resources[&parent_kind];
    let previous = get(cluster, parent_ar, &parent_id).await?;
    let (mut all_kinds, mut all_namespaces) = previous
        .as_ref()
        .map(ApplySet::members_of)
        .unwrap_or_default();
    all_kinds.extend(desired.kinds());
    all_namespaces.extend(desired.namespaces());
    if !opts.dry_run {
        // Record the union first: if this run dies half-way, the next
        // prune still finds what this one created.
        let body = desired.applyset.parent_object(&all_kinds, &all_namespaces);
        put_parent(cluster, parent_ar, &parent_id, &body).await?;
    }

    let mut report = Report {
        dry_run: opts.dry_run,
        objects: Vec::new(),
    };
    let mut new_namespaces: BTreeSet<String> = BTreeSet::new();
    for obj in &desired.objects {
        let ar = &resources[&obj.id.kind];
        let before = get(cluster, ar, &obj.id).await?;
        let (change, after) = match ssa(cluster, ar, &obj.id, &obj.body, opts).await? {
            Applied::Object(after) => {
                let change = match &before {
                    None => Change::Created,
                    Some(b) if normalize(b) == normalize(&after) => Change::Unchanged,
                    Some(_) => Change::Configured,
                };
                (change, Some(after))
            }
            Applied::Conflict(c) => (Change::Conflict(c), None),
            Applied::NamespacePending => {
                let ns = obj.id.namespace.clone().unwrap_or_default();
                if !new_namespaces.contains(&ns) {
                    return Err(ApplyError::Api {
                        context: cluster.context.clone(),
                        server: cluster.server.clone(),
                        what: format!("dry-run apply {}", obj.id),
                        why: format!("namespace `{ns}` does not exist"),
                        code: 404,
                        help:
                            "declare the namespace in the catalog (`namespaces:`) so gen creates it"
                                .to_owned(),
                    });
                }
                (Change::Created, Some(obj.body.clone()))
            }
        };
        if obj.id.kind.kind == "Namespace" && before.is_none() {
            new_namespaces.insert(obj.id.name.clone());
        }
        report.objects.push(ObjectResult {
            id: obj.id.clone(),
            change,
            before,
            after,
        });
    }

    let conflicted = report.conflicts().next().is_some();
    if opts.prune && !conflicted {
        let stale = stale(cluster, desired, &all_kinds, &all_namespaces, &resources).await?;
        for (id, live) in stale {
            if id.kind.kind == "Namespace" {
                report.objects.push(ObjectResult {
                    id,
                    change: Change::Kept,
                    before: Some(live.clone()),
                    after: Some(live),
                });
                continue;
            }
            let ar = resources.get(&id.kind).cloned().unwrap_or_else(|| {
                ApiResource::from_gvk_with_plural(
                    &GroupVersionKind::gvk(id.kind.group, id.kind.version, id.kind.kind),
                    id.kind.plural,
                )
            });
            let a = api(cluster, &ar, id.namespace.as_deref());
            let dp = DeleteParams {
                dry_run: opts.dry_run,
                ..DeleteParams::default()
            };
            let deleted = cluster
                .call(|| format!("delete {id}"), a.delete(&id.name, &dp))
                .await;
            match deleted {
                Ok(_) => {}
                // Gone meanwhile: the goal is reached.
                Err(e) if status_of(&e) == 404 => {}
                Err(e) => return Err(e),
            }
            report.objects.push(ObjectResult {
                id,
                change: Change::Pruned,
                before: Some(live),
                after: None,
            });
        }
        if !opts.dry_run {
            let body = desired
                .applyset
                .parent_object(&desired.kinds(), &desired.namespaces());
            put_parent(cluster, parent_ar, &parent_id, &body).await?;
        }
    }
    Ok(report)
}

async fn put_parent(
    cluster: &Cluster,
    ar: &ApiResource,
    id: &ObjectRef,
    body: &Value,
) -> Result<(), ApplyError> {
    match ssa(cluster, ar, id, body, Options::default()).await? {
        Applied::Object(_) | Applied::NamespacePending => Ok(()),
        Applied::Conflict(c) => Err(ApplyError::Api {
            context: cluster.context.clone(),
            server: cluster.server.clone(),
            what: format!("apply {id} (the ApplySet parent)"),
            why: c
                .into_iter()
                .map(|c| c.message)
                .collect::<Vec<_>>()
                .join("; "),
            code: 409,
            help: "another tool manages this ConfigMap; delete it or rename the project".to_owned(),
        }),
    }
}

/// Live objects labelled as members of the project's ApplySet that are not
/// desired any more, in reverse apply order. Only objects whose `applyset.kubernetes.io/part-of`
/// label is exactly the project's id are returned (the server filters, and
/// gen checks again).
pub async fn stale(
    cluster: &Cluster,
    desired: &Desired,
    kinds: &BTreeSet<Kind>,
    namespaces: &BTreeSet<String>,
    resources: &BTreeMap<Kind, ApiResource>,
) -> Result<Vec<(ObjectRef, Value)>, ApplyError> {
    let selector = format!("{PART_OF}={}", desired.applyset.id);
    let lp = ListParams::default().labels(&selector);
    let mut out = Vec::new();
    for kind in kinds {
        let ar = resources.get(kind).cloned().unwrap_or_else(|| {
            ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk(kind.group, kind.version, kind.kind),
                kind.plural,
            )
        });
        let scopes: Vec<Option<&str>> = if kind.namespaced {
            namespaces.iter().map(|n| Some(n.as_str())).collect()
        } else {
            vec![None]
        };
        for ns in scopes {
            let a = api(cluster, &ar, ns);
            let listed = cluster
                .call(
                    || {
                        format!(
                            "list {}{}",
                            kind.plural,
                            ns.map(|n| format!(" -n {n}")).unwrap_or_default()
                        )
                    },
                    a.list(&lp),
                )
                .await;
            let list = match listed {
                Ok(l) => l,
                // A namespace that no longer exists holds nothing.
                Err(e) if status_of(&e) == 404 => continue,
                Err(e) => return Err(e),
            };
            for item in list.items {
                let v = to_value(&item);
                let labels = &v["metadata"]["labels"];
                if labels[PART_OF].as_str() != Some(desired.applyset.id.as_str()) {
                    continue;
                }
                let id = ObjectRef {
                    kind: *kind,
                    namespace: kind
                        .namespaced
                        .then(|| v["metadata"]["namespace"].as_str().map(str::to_owned))
                        .flatten(),
                    name: v["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                };
                if desired.get(&id).is_none() {
                    out.push((id, v));
                }
            }
        }
    }
    // Reverse dependency order: Ingresses go before the Services they
    // route to, Deployments before their ServiceAccounts.
    out.sort_by(|a, b| {
        (b.0.kind.order, &a.0.namespace, &a.0.name).cmp(&(
            a.0.kind.order,
            &b.0.namespace,
            &b.0.name,
        ))
    });
    Ok(out)
}

/// An object without what the server maintains (managed fields, versions,
/// uid, timestamps, status): what `gen diff` compares and shows.
pub fn normalize(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
                "selfLink",
            ] {
                meta.remove(k);
            }
            if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                ann.remove("deployment.kubernetes.io/revision");
                ann.remove("kubectl.kubernetes.io/last-applied-configuration");
                if ann.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_drops_server_fields_only() {
        let live = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "a", "uid": "u", "resourceVersion": "7", "generation": 2,
                         "managedFields": [{}], "creationTimestamp": "t",
                         "annotations": {"deployment.kubernetes.io/revision": "3"}},
            "spec": {"clusterIP": "10.43.0.1"},
            "status": {"loadBalancer": {}}
        });
        assert_eq!(
            normalize(&live),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"},
                   "spec": {"clusterIP": "10.43.0.1"}})
        );
    }

    #[test]
    fn totals_count_each_outcome() {
        let id = ObjectRef {
            kind: super::super::desired::KINDS[0],
            namespace: None,
            name: "x".into(),
        };
        let r = Report {
            dry_run: false,
            objects: vec![
                ObjectResult {
                    id: id.clone(),
                    change: Change::Created,
                    before: None,
                    after: None,
                },
                ObjectResult {
                    id,
                    change: Change::Unchanged,
                    before: None,
                    after: None,
                },
            ],
        };
        let t: BTreeMap<_, _> = r.totals().into_iter().collect();
        assert_eq!((t["created"], t["unchanged"], t["pruned"]), (1, 1, 0));
        assert!(r.changed());
    }
}
