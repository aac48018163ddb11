//! Discovery, server-side apply, dry runs, pruning and the data `gen diff`
//! shows.
//!
//! Every object is sent with `PATCH` and `Content-Type:
//! application/apply-patch+yaml`, `fieldManager=gen` (server-side apply), so
//! the API server merges it and tracks which fields gen owns: fields another
//! manager owns with a different value are reported as conflicts, never
//! silently overwritten (unless `--force-conflicts`).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery;
use serde_json::Value;

use super::desired::{ApplySet, Desired, Kind, ObjectRef, PART_OF};
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
    /// What else happened to it (a field handed over, say).
    pub note: Option<String>,
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
        let mut t: Vec<(&'static str, usize)> =
            ["created", "configured", "unchanged", "pruned", "conflict"]
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
    /// Apply even though none of the set's live members is in the catalog
    /// (without it, that is refused as a second catalog sharing the set).
    pub replace_set: bool,
    /// Wait this long for each wave's one-off Jobs to complete before the
    /// next wave (`--wait`); None: do not wait.
    pub wait_jobs: Option<std::time::Duration>,
}

/// The API resources of `kinds`, from the server's discovery documents.
/// This is the first request gen sends, so an unreachable server or bad
/// credentials fail here.
pub async fn discover(
    cluster: &Cluster,
    kinds: &BTreeSet<Kind>,
) -> Result<BTreeMap<Kind, ApiResource>, ApplyError> {
    let mut out = BTreeMap::new();
    // One request per kind, all at once: they are independent.
    let found = futures_util::future::join_all(kinds.iter().map(|k| async move {
        let gvk = GroupVersionKind::gvk(k.group, k.version, k.kind);
        cluster
            .call(
                || format!("discovery of {}", k.api_version()),
                discovery::pinned_kind(&cluster.client, &gvk),
            )
            .await
            .map(|(ar, _)| (*k, ar))
    }))
    .await;
    for f in found {
        let (k, ar) = f?;
        out.insert(k, ar);
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

/// How many requests of one dependency wave are in flight at once.
pub const CONCURRENCY: usize = 16;

/// The field manager that holds a Deployment's `spec.replicas` while it is
/// handed from gen to its HorizontalPodAutoscaler (see [`hand_replicas_to_hpa`]).
pub const HANDOVER_MANAGER: &str = "gen-hpa-handover";

/// The autoscaling facts of one apply: which Deployments a desired HPA
/// scales (with its range), and which ones an HPA of the set scaled before
/// but no desired one does (autoscaling turned off).
#[derive(Debug, Default)]
struct Autoscaling {
    /// (namespace, Deployment) -> (minReplicas, maxReplicas).
    on: BTreeMap<(String, String), (i64, i64)>,
    /// (namespace, Deployment) -> the live HPA of the set that scales it.
    off: BTreeMap<(String, String), ObjectRef>,
}

/// The kinds gen's HPAs scale (`scaleTargetRef.kind`).
const SCALED_KINDS: [&str; 2] = ["Deployment", "StatefulSet"];

fn hpa_target(hpa: &Value) -> Option<(String, String)> {
    let target = &hpa["spec"]["scaleTargetRef"];
    if !SCALED_KINDS.contains(&target["kind"].as_str().unwrap_or_default()) {
        return None;
    }
    Some((
        hpa["metadata"]["namespace"].as_str()?.to_owned(),
        target["name"].as_str()?.to_owned(),
    ))
}

impl Autoscaling {
    fn of(desired: &Desired, live: &BTreeMap<ObjectRef, Value>) -> Autoscaling {
        let mut a = Autoscaling::default();
        for o in desired
            .objects
            .iter()
            .filter(|o| o.id.kind.kind == "HorizontalPodAutoscaler")
        {
            if let Some(t) = hpa_target(&o.body) {
                let min = o.body["spec"]["minReplicas"].as_i64().unwrap_or(1);
                let max = o.body["spec"]["maxReplicas"].as_i64().unwrap_or(min);
                a.on.insert(t, (min, max));
            }
        }
        for (id, v) in live {
            if id.kind.kind != "HorizontalPodAutoscaler"
                || desired.get(id).is_some()
                || v["metadata"]["labels"][PART_OF].as_str() != Some(desired.applyset.id.as_str())
            {
                continue;
            }
            if let Some(t) = hpa_target(v) {
                if !a.on.contains_key(&t) {
                    a.off.insert(t, id.clone());
                }
            }
        }
        a
    }
}

/// Whether field manager `manager` owns `spec.replicas` of `live` through
/// an apply.
fn applies_replicas(live: &Value, manager: &str) -> bool {
    live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|m| {
            m["manager"] == manager
                && m["operation"] == "Apply"
                && m["subresource"].as_str().unwrap_or("").is_empty()
                && !m["fieldsV1"]["f:spec"]["f:replicas"].is_null()
        })
}

/// What the objects of the set looked like before this run: every object
/// of the recorded kinds in the recorded namespaces, one LIST per kind and
/// namespace (and a GET per Namespace), instead of a GET per object.
async fn live_objects(
    cluster: &Cluster,
    desired: &Desired,
    kinds: &BTreeSet<Kind>,
    namespaces: &BTreeSet<String>,
    resources: &BTreeMap<Kind, ApiResource>,
) -> Result<BTreeMap<ObjectRef, Value>, ApplyError> {
    let mut out = BTreeMap::new();
    for o in desired.objects.iter().filter(|o| !o.id.kind.namespaced) {
        if let Some(v) = get(cluster, &resources[&o.id.kind], &o.id).await? {
            out.insert(o.id.clone(), v);
        }
    }
    let lists = kinds
        .iter()
        .filter(|k| k.namespaced)
        .flat_map(|k| namespaces.iter().map(move |ns| (*k, ns.as_str())));
    let listed = futures_util::stream::iter(lists.map(|(kind, ns)| async move {
        let ar = resource_of(resources, kind);
        let a = api(cluster, &ar, Some(ns));
        let what = || format!("list {} -n {ns}", kind.plural);
        match cluster.call(what, a.list(&ListParams::default())).await {
            Ok(l) => Ok((kind, l.items)),
            // A namespace that does not exist (yet) holds nothing.
            Err(e) if status_of(&e) == 404 => Ok((kind, Vec::new())),
            Err(e) => Err(e),
        }
    }))
    .buffer_unordered(CONCURRENCY)
    .collect::<Vec<_>>()
    .await;
    for r in listed {
        let (kind, items) = r?;
        for item in items {
            let mut v = to_value(&item);
            v["apiVersion"] = Value::String(kind.api_version());
            v["kind"] = Value::String(kind.kind.to_owned());
            let id = ObjectRef {
                kind,
                namespace: v["metadata"]["namespace"].as_str().map(str::to_owned),
                name: v["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            };
            out.insert(id, v);
        }
    }
    Ok(out)
}

fn resource_of(resources: &BTreeMap<Kind, ApiResource>, kind: Kind) -> ApiResource {
    resources.get(&kind).cloned().unwrap_or_else(|| {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(kind.group, kind.version, kind.kind),
            kind.plural,
        )
    })
}

/// Apply every desired object, one dependency wave after the other (the
/// objects of a wave concurrently, at most [`CONCURRENCY`] at once); then,
/// with `prune`, delete the ApplySet's members that are no longer desired.
/// A run with conflicts prunes nothing.
pub async fn apply(
    cluster: &Cluster,
    desired: &Desired,
    opts: Options,
) -> Result<Report, ApplyError> {
    let parent_kind = Kind::of("v1", "ConfigMap").unwrap_or(super::desired::KINDS[2]);
    let mut kinds = desired.kinds();
    kinds.insert(parent_kind);
    if let Some(ns) = Kind::of("v1", "Namespace") {
        kinds.insert(ns);
    }
    let set = &desired.applyset;
    let parent_id = ObjectRef {
        kind: parent_kind,
        namespace: Some(set.namespace.clone()),
        name: set.parent.clone(),
    };
    let mut resources = discover(cluster, &kinds).await?;
    let parent_ar = resources[&parent_kind].clone();
    let previous = get(cluster, &parent_ar, &parent_id).await?;
    if let Some(p) = &previous {
        if let Some(why) = set.foreign_parent(p) {
            return Err(ApplyError::Api {
                context: cluster.context.clone(),
                server: cluster.server.clone(),
                what: format!("use {parent_id} as the ApplySet parent"),
                why,
                code: 409,
                help: "gen will not take over or change another tool's set: rename the project in the catalog, or delete that ConfigMap if nothing uses it".into(),
            });
        }
    }
    let mut recorded = previous
        .as_ref()
        .map(ApplySet::members_of)
        .unwrap_or_default();
    // A parent gen 0.1 left in `default`: its members are this set's too
    // (the apply relabels the desired ones; prune finds the rest by the old
    // id), and it goes once a prune has run.
    let legacy = match set.legacy() {
        Some(l) => {
            let id = ObjectRef {
                kind: parent_kind,
                namespace: Some(l.namespace.clone()),
                name: l.parent.clone(),
            };
            match get(cluster, &parent_ar, &id).await? {
                Some(p) if l.foreign_parent(&p).is_none() => {
                    recorded = recorded.union(&ApplySet::members_of(&p));
                    Some((l, id))
                }
                _ => None,
            }
        }
        None => None,
    };
    let mut ids = vec![set.id.clone()];
    ids.extend(legacy.iter().map(|(l, _)| l.id.clone()));
    let all = recorded.union(&desired.members());
    // Kinds the parent records that this run does not apply (an HPA whose
    // service stopped autoscaling, say) must be discovered to be pruned.
    let extra: BTreeSet<Kind> = all.kinds().difference(&kinds).copied().collect();
    if !extra.is_empty() {
        resources.extend(discover(cluster, &extra).await?);
    }
    let live = live_objects(cluster, desired, &all.kinds(), &all.namespaces, &resources).await?;
    let autoscaling = Autoscaling::of(desired, &live);
    if !opts.replace_set {
        // Only the set's own id: a gen 0.1 parent is this project's by
        // construction, and migrating it must not be refused.
        if let Some((count, example)) = foreign_members(desired, &ids[..1], &live) {
            return Err(ApplyError::SharedSet {
                context: cluster.context.clone(),
                project: set.parent.trim_start_matches("gen-applyset-").to_owned(),
                parent: parent_id.to_string(),
                count,
                example: example.to_string(),
            });
        }
    }

    let mut report = Report {
        dry_run: opts.dry_run,
        objects: Vec::new(),
    };
    let mut removed: BTreeSet<ObjectRef> = BTreeSet::new();
    let mut new_namespaces: BTreeSet<String> = BTreeSet::new();
    let mut parent_written = opts.dry_run;
    let tiers: BTreeSet<u8> = desired.objects.iter().map(|o| o.id.kind.order).collect();
    for tier in tiers {
        if !parent_written && tier > 0 {
            // Record the union before the first member is written (and after
            // the Namespaces, the parent's own among them): if this run dies
            // half-way, the next prune still finds what this one created.
            put_parent(cluster, &parent_ar, &parent_id, &set.parent_object(&all)).await?;
            parent_written = true;
        }
        let objects = desired.objects.iter().filter(|o| o.id.kind.order == tier);
        // Unordered, so that one slow request does not hold the slots of
        // the ones done after it; the results go back into apply order.
        let mut done = futures_util::stream::iter(objects.enumerate().map(|(i, obj)| {
            let ar = resources[&obj.id.kind].clone();
            let before = live.get(&obj.id).cloned();
            let new_ns = &new_namespaces;
            let autoscaling = &autoscaling;
            let resources = &resources;
            async move {
                let r = apply_one(
                    cluster,
                    &ar,
                    obj,
                    before,
                    opts,
                    autoscaling,
                    new_ns,
                    resources,
                )
                .await;
                (i, r)
            }
        }))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
        done.sort_by_key(|(i, _)| *i);
        for (_, r) in done {
            let (result, gone) = r?;
            if result.id.kind.kind == "Namespace" && result.before.is_none() {
                new_namespaces.insert(result.id.name.clone());
            }
            if let Some(g) = gone {
                removed.insert(g.id.clone());
                report.objects.push(g);
            }
            report.objects.push(result);
        }
        if let (Some(timeout), false) = (opts.wait_jobs, opts.dry_run) {
            let jobs: Vec<(String, String)> = desired
                .objects
                .iter()
                .filter(|o| o.id.kind.order == tier && o.id.kind.kind == "Job")
                .map(|o| {
                    (
                        o.id.namespace.clone().unwrap_or_default(),
                        o.id.name.clone(),
                    )
                })
                .collect();
            super::jobs::wait(cluster, &jobs, timeout).await?;
        }
    }
    if !parent_written {
        put_parent(cluster, &parent_ar, &parent_id, &set.parent_object(&all)).await?;
    }

    let conflicted = report.conflicts().next().is_some();
    if opts.prune && !conflicted {
        let stale = stale(
            cluster,
            desired,
            &ids,
            &all.kinds(),
            &all.namespaces,
            &resources,
        )
        .await?;
        for (id, live) in stale {
            if removed.contains(&id) {
                continue;
            }
            let ar = resource_of(&resources, id.kind);
            delete(cluster, &ar, &id, opts.dry_run).await?;
            report.objects.push(ObjectResult {
                id,
                change: Change::Pruned,
                before: Some(live),
                after: None,
                note: None,
            });
        }
        if !opts.dry_run {
            // What is left: the desired members, and the kinds gen cannot
            // prune itself (so a tool that knows them still can).
            let mut left = desired.members();
            left.group_kinds.extend(recorded.unknown());
            put_parent(cluster, &parent_ar, &parent_id, &set.parent_object(&left)).await?;
            if let Some((_, id)) = &legacy {
                delete(cluster, &parent_ar, id, false).await?;
            }
        }
    }
    Ok(report)
}

/// When the set has live members and not one of them is desired, how many
/// there are and the first: what a second catalog with the same project (and
/// so the same set) sees on its first apply. A catalog that changed keeps at
/// least one object of its last apply; one that replaced every object needs
/// `--replace-set`.
fn foreign_members<'a>(
    desired: &Desired,
    ids: &[String],
    live: &'a BTreeMap<ObjectRef, Value>,
) -> Option<(usize, &'a ObjectRef)> {
    let members: Vec<&ObjectRef> = live
        .iter()
        .filter(|(_, v)| {
            v["metadata"]["labels"][PART_OF]
                .as_str()
                .is_some_and(|id| ids.iter().any(|i| i == id))
        })
        .map(|(id, _)| id)
        .collect();
    let first = *members.first()?;
    members
        .iter()
        .all(|id| desired.get(id).is_none())
        .then_some((members.len(), first))
}

async fn delete(
    cluster: &Cluster,
    ar: &ApiResource,
    id: &ObjectRef,
    dry_run: bool,
) -> Result<(), ApplyError> {
    let a = api(cluster, ar, id.namespace.as_deref());
    let dp = DeleteParams {
        dry_run,
        ..DeleteParams::default()
    };
    match cluster
        .call(|| format!("delete {id}"), a.delete(&id.name, &dp))
        .await
    {
        Ok(_) => Ok(()),
        // Gone meanwhile: the goal is reached.
        Err(e) if status_of(&e) == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Apply one object and judge what changed. For a Deployment whose
/// autoscaling is turned on or off, hand `spec.replicas` over without a
/// dip; the second value is the HPA deleted on the way (autoscaling off).
#[allow(clippy::too_many_arguments)]
async fn apply_one(
    cluster: &Cluster,
    ar: &ApiResource,
    obj: &super::desired::Obj,
    before: Option<Value>,
    opts: Options,
    autoscaling: &Autoscaling,
    new_namespaces: &BTreeSet<String>,
    resources: &BTreeMap<Kind, ApiResource>,
) -> Result<(ObjectResult, Option<ObjectResult>), ApplyError> {
    let id = &obj.id;
    let key = (id.namespace.clone().unwrap_or_default(), id.name.clone());
    let mut note = None;
    let mut gone = None;
    let is_deployment = SCALED_KINDS.contains(&id.kind.kind);
    let turned_off = autoscaling.off.get(&key).filter(|_| is_deployment);
    if let Some(hpa) = turned_off {
        // Autoscaling turned off: delete the set's HPA first, so it stops
        // scaling what gen sizes from now on (with or without --prune).
        let hpa_ar = resource_of(resources, hpa.kind);
        delete(cluster, &hpa_ar, hpa, opts.dry_run).await?;
        gone = Some(ObjectResult {
            id: hpa.clone(),
            change: Change::Pruned,
            before: None,
            after: None,
            note: Some(format!(
                "autoscaling of {}/{} turned off",
                id.kind.kind.to_lowercase(),
                id.name
            )),
        });
    }
    let mut applied = if let (true, Some(&(min, max))) = (is_deployment, autoscaling.on.get(&key)) {
        let (a, n) =
            hand_replicas_to_hpa(cluster, ar, obj, before.as_ref(), (min, max), opts).await?;
        note = n;
        a
    } else {
        ssa(cluster, ar, id, &obj.body, opts).await?
    };
    if let (Applied::Conflict(c), Some(_)) = (&applied, turned_off) {
        if c.iter().all(|c| c.field == ".spec.replicas") {
            // The replicas still belong to the HPA controller (or the
            // handover manager): the one contested field is gen's again.
            let forced = Options {
                force_conflicts: true,
                ..opts
            };
            let managers: Vec<String> = c.iter().map(|c| c.message.clone()).collect();
            applied = ssa(cluster, ar, id, &obj.body, forced).await?;
            note = Some(format!(
                "autoscaling turned off: took .spec.replicas over ({})",
                managers.join("; ")
            ));
        }
    }
    let (change, after) = match applied {
        Applied::Object(after) => (verdict(before.as_ref(), &after), Some(after)),
        Applied::Conflict(c) => (Change::Conflict(c), None),
        Applied::NamespacePending => {
            let ns = id.namespace.clone().unwrap_or_default();
            if !new_namespaces.contains(&ns) {
                return Err(ApplyError::Api {
                    context: cluster.context.clone(),
                    server: cluster.server.clone(),
                    what: format!("dry-run apply {id}"),
                    why: format!("namespace `{ns}` does not exist"),
                    code: 404,
                    help: "declare the namespace in the catalog (`namespaces:`) so gen creates it"
                        .to_owned(),
                });
            }
            (Change::Created, Some(obj.body.clone()))
        }
    };
    Ok((
        ObjectResult {
            id: id.clone(),
            change,
            before,
            after,
            note,
        },
        gone,
    ))
}

/// Created, configured or unchanged: `before` against the server's answer.
fn verdict(before: Option<&Value>, after: &Value) -> Change {
    match before {
        None => Change::Created,
        Some(b) => {
            let mut b = b.clone();
            b["apiVersion"] = after["apiVersion"].clone();
            b["kind"] = after["kind"].clone();
            if normalize(&b) == normalize(after) {
                Change::Unchanged
            } else {
                Change::Configured
            }
        }
    }
}

/// Apply a Deployment that an HPA scales, so that `spec.replicas` never
/// dips: gen does not set replicas for such a Deployment, and a field whose
/// only owner lets go of it is reset to its default (1) by the server. So
/// the replicas are first given to a second field manager
/// ([`HANDOVER_MANAGER`]) at their current value (clamped to the HPA's
/// range; the HPA's minimum for a new Deployment), then gen's object
/// without replicas is applied. The HPA controller takes the field over the
/// first time it scales.
async fn hand_replicas_to_hpa(
    cluster: &Cluster,
    ar: &ApiResource,
    obj: &super::desired::Obj,
    before: Option<&Value>,
    (min, max): (i64, i64),
    opts: Options,
) -> Result<(Applied, Option<String>), ApplyError> {
    let id = &obj.id;
    let hand_over = |replicas: i64| {
        let body = serde_json::json!({
            "apiVersion": obj.body["apiVersion"],
            "kind": obj.body["kind"],
            "metadata": {"name": id.name, "namespace": id.namespace},
            "spec": {"replicas": replicas},
        });
        async move {
            let a = api(cluster, ar, id.namespace.as_deref());
            let mut pp = PatchParams::apply(HANDOVER_MANAGER);
            pp.dry_run = opts.dry_run;
            pp.force = true;
            cluster
                .call(
                    || format!("hand spec.replicas of {id} to its HorizontalPodAutoscaler"),
                    a.patch(&id.name, &pp, &Patch::Apply(&body)),
                )
                .await
                .map(|_| ())
        }
    };
    match before {
        None if !opts.dry_run => {
            // Create it at the HPA's minimum, hand that over, then let go.
            let mut first = obj.body.clone();
            first["spec"]["replicas"] = Value::from(min);
            if let Applied::Conflict(c) = ssa(cluster, ar, id, &first, opts).await? {
                return Ok((Applied::Conflict(c), None));
            }
            hand_over(min).await?;
            Ok((ssa(cluster, ar, id, &obj.body, opts).await?, None))
        }
        Some(live) if applies_replicas(live, FIELD_MANAGER) => {
            let current = live["spec"]["replicas"].as_i64().unwrap_or(min);
            let keep = current.clamp(min, max);
            if !opts.dry_run {
                hand_over(keep).await?;
            }
            Ok((
                ssa(cluster, ar, id, &obj.body, opts).await?,
                Some(format!(
                    "autoscaling turned on: spec.replicas ({keep}) handed to the HorizontalPodAutoscaler"
                )),
            ))
        }
        _ => Ok((ssa(cluster, ar, id, &obj.body, opts).await?, None)),
    }
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
/// desired any more, in reverse apply order. Only objects whose
/// `applyset.kubernetes.io/part-of` label is exactly one of `ids` (the
/// set's, and a legacy parent's) are returned (the server filters, and gen
/// checks again).
pub async fn stale(
    cluster: &Cluster,
    desired: &Desired,
    ids: &[String],
    kinds: &BTreeSet<Kind>,
    namespaces: &BTreeSet<String>,
    resources: &BTreeMap<Kind, ApiResource>,
) -> Result<Vec<(ObjectRef, Value)>, ApplyError> {
    let selector = format!("{PART_OF} in ({})", ids.join(","));
    let lp = ListParams::default().labels(&selector);
    let mut out = Vec::new();
    for kind in kinds.iter().filter(|k| k.kind != "Namespace") {
        let ar = resource_of(resources, *kind);
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
                if !labels[PART_OF]
                    .as_str()
                    .is_some_and(|id| ids.iter().any(|i| i == id))
                {
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
                // Objects another object owns go with their owner, and
                // Namespaces are never deleted by gen.
                let owned = v["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|o| !o.is_empty());
                if desired.get(&id).is_none() && !owned && id.kind.kind != "Namespace" {
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
                    note: None,
                },
                ObjectResult {
                    id,
                    change: Change::Unchanged,
                    before: None,
                    after: None,
                    note: None,
                },
            ],
        };
        let t: BTreeMap<_, _> = r.totals().into_iter().collect();
        assert_eq!((t["created"], t["unchanged"], t["pruned"]), (1, 1, 0));
        assert!(r.changed());
    }
}
