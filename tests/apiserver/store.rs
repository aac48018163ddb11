//! Object storage and the write paths (server-side apply, merge / JSON patch,
//! create, replace, delete) with resourceVersion / generation bookkeeping,
//! field ownership (`managedFields`) and the watch event history.
//!
//! Everything runs under one mutex, so every request is atomic, like a
//! single-member etcd. Simplified vs a real API server: no admission, no
//! validation beyond what the client tests need, no defaulting except
//! Service `clusterIP(s)`, deletes are immediate (no graceful deletion,
//! finalizers or Terminating namespaces), and the garbage collector runs
//! synchronously inside the delete.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::broadcast;

use super::controller;
use super::fields::{self, Path};
use super::resources::{self, Resource};
use super::{Request, Rollout};

/// Fixed timestamp used for every server-set time (keeps output deterministic).
pub const TIME: &str = "2026-01-01T00:00:00Z";

/// Namespaces every API server has from the start.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-node-lease", "kube-public", "kube-system"];

/// How many watch events are kept for `watch` with a `resourceVersion`.
const HISTORY: usize = 10_000;

/// An error answered as a `Status` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// `deployments.apps "x" not found`.
    pub fn not_found(res: &Resource, name: &str) -> Self {
        Self {
            details: Some(res.details(name)),
            ..Self::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", res.qualified()),
            )
        }
    }

    /// A URL that names no resource.
    pub fn no_route() -> Self {
        Self {
            details: Some(json!({})),
            ..Self::new(
                404,
                "NotFound",
                "the server could not find the requested resource",
            )
        }
    }

    /// The `Status` object sent as the response body.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

/// `Apply` or `Update`, as in `managedFields[].operation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry: the leaf paths a manager owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manager {
    pub manager: String,
    pub operation: Operation,
    pub subresource: Option<&'static str>,
    pub api_version: String,
    pub fields: BTreeSet<Path>,
}

impl Manager {
    /// How conflict messages name this manager: apply managers by name,
    /// update managers with `using <apiVersion>` (as `printManager` does).
    fn display(&self) -> String {
        match self.operation {
            Operation::Apply => format!("{:?}", self.manager),
            Operation::Update => format!("{:?} using {}", self.manager, self.api_version),
        }
    }

    fn render(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation.as_str(),
            "apiVersion": self.api_version,
            "time": TIME,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields::fields_v1(&self.fields),
        });
        if let Some(s) = self.subresource {
            v["subresource"] = json!(s);
        }
        v
    }
}

/// A stored object: its JSON (without `managedFields`) and its managers.
#[derive(Debug, Clone)]
pub struct Stored {
    pub res: &'static Resource,
    pub obj: Value,
    pub managers: Vec<Manager>,
}

impl Stored {
    /// The object as the API returns it (with `managedFields`).
    pub fn render(&self) -> Value {
        render(self.res, &self.obj, &self.managers)
    }
}

fn render(res: &Resource, obj: &Value, managers: &[Manager]) -> Value {
    let mut out = obj.clone();
    out["apiVersion"] = json!(res.api_version());
    out["kind"] = json!(res.kind);
    if !managers.is_empty() {
        out["metadata"]["managedFields"] =
            Value::Array(managers.iter().map(Manager::render).collect());
    }
    out
}

/// Storage key; sorts like `ApiServer::objects` promises (kind, namespace, name).
pub type Key = (&'static str, String, String);

pub fn key(res: &Resource, ns: &str, name: &str) -> Key {
    (
        res.kind,
        if res.namespaced {
            ns.to_string()
        } else {
            String::new()
        },
        name.to_string(),
    )
}

/// One committed change, kept for watches.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: &'static str,
    pub namespace: String,
    pub event: &'static str,
    pub object: Value,
    /// The object before a MODIFIED change (for selector transitions).
    pub old: Option<Value>,
}

/// A timer the deployment controller wants; spawned after the lock is released.
#[derive(Debug, Clone)]
pub struct Timer {
    pub delay: Duration,
    pub namespace: String,
    pub name: String,
    pub generation: i64,
    pub action: TimerAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerAction {
    /// `Rollout::Ready`: the new ReplicaSet becomes available.
    Ready,
    /// `Rollout::Stuck`: the progress deadline passes.
    Deadline,
}

/// Everything the server knows, behind one mutex.
pub struct State {
    pub objects: BTreeMap<Key, Stored>,
    /// Global resourceVersion counter (last committed version).
    pub rv: u64,
    uid_counter: u64,
    ip_counter: u32,
    event_counter: u64,
    pub history: VecDeque<Arc<Change>>,
    pub tx: broadcast::Sender<Arc<Change>>,
    pub rollouts: HashMap<String, Rollout>,
    pub timers: Vec<Timer>,
    pub requests: Vec<Request>,
    pub token: Option<String>,
    pub latency: Duration,
}

/// Whether the resource has `metadata.generation` (types whose strategy
/// bumps it on spec changes; core types here don't).
fn has_generation(res: &Resource) -> bool {
    !res.group.is_empty()
}

/// The object without `metadata` and `status`: what `generation` tracks.
fn spec_part(obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    v
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// Server-owned metadata copied from the live object on every write.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
];

impl State {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self {
            objects: BTreeMap::new(),
            rv: 1,
            uid_counter: 0,
            ip_counter: 0,
            event_counter: 0,
            history: VecDeque::new(),
            tx,
            rollouts: HashMap::new(),
            timers: Vec::new(),
            requests: Vec::new(),
            token: None,
            latency: Duration::ZERO,
        }
    }

    /// A fresh server state holding what kube-apiserver itself creates at
    /// startup: the `default`, `kube-system`, `kube-public` and
    /// `kube-node-lease` namespaces (manager `kube-apiserver`, Update).
    /// Simplified: no `default` ServiceAccounts or `kube-root-ca.crt`
    /// ConfigMaps (controllers create those on a real cluster).
    pub fn bootstrap() -> Self {
        let mut st = Self::new();
        for ns in SYSTEM_NAMESPACES {
            let obj =
                json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } });
            if let Err(e) = st.seed(obj, "kube-apiserver", Operation::Update) {
                panic!(
                    "API test server: bootstrap of namespace {ns}: {}",
                    e.message
                );
            }
        }
        st
    }

    fn next_uid(&mut self) -> String {
        self.uid_counter += 1;
        format!("00000000-0000-4000-8000-{:012x}", self.uid_counter)
    }

    pub fn next_event_suffix(&mut self) -> String {
        self.event_counter += 1;
        format!("{:016x}", 0x1870_0000_0000_0000u64 + self.event_counter)
    }

    /// Record a committed change and wake watchers.
    pub fn push_change(
        &mut self,
        res: &Resource,
        event: &'static str,
        object: Value,
        old: Option<Value>,
    ) {
        let change = Arc::new(Change {
            rv: self.rv,
            kind: res.kind,
            namespace: meta_str(&object, "namespace")
                .unwrap_or_default()
                .to_string(),
            event,
            object,
            old,
        });
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(change.clone());
        // No receivers is fine.
        let _ = self.tx.send(change);
    }

    pub fn get(&self, res: &Resource, ns: &str, name: &str) -> Option<&Stored> {
        self.objects.get(&key(res, ns, name))
    }

    fn namespace_exists(&self, ns: &str) -> bool {
        self.objects
            .contains_key(&("Namespace", String::new(), ns.to_string()))
    }

    /// Checks shared by apply / create / replace bodies: the body must be an
    /// object whose apiVersion, kind, name and namespace agree with the URL.
    fn check_body(
        res: &Resource,
        ns: &str,
        name: Option<&str>,
        body: &Value,
    ) -> Result<(), ApiError> {
        if !body.is_object() || body.get("metadata").is_some_and(|m| !m.is_object()) {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON or YAML object with an object `metadata`",
            ));
        }
        let av = body
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
        if av != res.api_version() || kind != res.kind {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({av}) does not match the expected API version ({}), or the kind in the data ({kind}) does not match the expected kind ({})",
                res.api_version(),
                res.kind
            )));
        }
        if let Some(name) = name {
            let body_name = meta_str(body, "name").unwrap_or_default();
            if body_name != name {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
        }
        if let Some(body_ns) = meta_str(body, "namespace") {
            let url_ns = if res.namespaced { ns } else { "" };
            if !body_ns.is_empty() && body_ns != url_ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
        Ok(())
    }

    /// Server-side apply (`PATCH` with `application/apply-patch+yaml`).
    ///
    /// Mirrors the real merge: the applied configuration is merged into the
    /// live object; leaves the manager applied before and omits now are
    /// removed unless someone else owns them; a leaf whose value would change
    /// and that another manager owns is a conflict (409) unless `force`.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        res: &'static Resource,
        ns: &str,
        name: &str,
        body: Value,
        manager: &str,
        force: bool,
        dry_run: bool,
    ) -> Result<(u16, Value), ApiError> {
        Self::check_body(res, ns, Some(name), &body)?;
        let live = self.get(res, ns, name).cloned();
        if live.is_none() && res.namespaced && !self.namespace_exists(ns) {
            return Err(ns_not_found(ns));
        }
        let live_obj = live
            .as_ref()
            .map(|s| s.obj.clone())
            .unwrap_or_else(|| json!({}));
        let mut managers = live
            .as_ref()
            .map(|s| s.managers.clone())
            .unwrap_or_default();
        let applied = fields::leaves(&body);
        let applied_paths: BTreeSet<Path> = applied.keys().cloned().collect();
        let is_self = |m: &Manager| {
            m.manager == manager && m.operation == Operation::Apply && m.subresource.is_none()
        };

        // Conflicts: (manager index, path), one per conflicting owned field.
        let mut conflicts: Vec<(usize, Path)> = Vec::new();
        for (i, m) in managers.iter().enumerate() {
            if is_self(m) || m.subresource.is_some() {
                continue;
            }
            for q in &m.fields {
                for p in &applied_paths {
                    if !(p.starts_with(q) || q.starts_with(p)) {
                        continue;
                    }
                    let deeper = if p.len() >= q.len() { p } else { q };
                    if fields::get(&live_obj, deeper) != fields::get(&body, deeper) {
                        conflicts.push((i, q.clone()));
                        break;
                    }
                }
            }
        }
        if !conflicts.is_empty() && !force {
            return Err(conflict_error(&managers, &conflicts));
        }
        for (i, q) in &conflicts {
            managers[*i].fields.remove(q);
        }

        // Remove what this manager applied before and no longer applies.
        let mut obj = live_obj.clone();
        let previous = managers
            .iter()
            .find(|m| is_self(m))
            .map(|m| m.fields.clone())
            .unwrap_or_default();
        for p in previous.difference(&applied_paths) {
            let shared = managers.iter().any(|m| !is_self(m) && m.fields.contains(p));
            if !shared {
                fields::remove(&mut obj, p);
            }
        }
        let mut applied_body = body.clone();
        if let Some(m) = applied_body.as_object_mut() {
            m.remove("status");
        }
        if let Some(meta) = applied_body
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            meta.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "labels" | "annotations" | "finalizers" | "ownerReferences"
                )
            });
        }
        fields::merge_applied(&mut obj, &applied_body);

        let api_version = body
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        managers.retain(|m| !is_self(m));
        if !applied_paths.is_empty() {
            // The real server keeps apply entries first, in arrival order; new
            // entries are appended.
            let entry = Manager {
                manager: manager.to_string(),
                operation: Operation::Apply,
                subresource: None,
                api_version,
                fields: applied_paths,
            };
            let pos = live
                .as_ref()
                .and_then(|s| s.managers.iter().position(&is_self))
                .unwrap_or(managers.len())
                .min(managers.len());
            managers.insert(pos, entry);
        }
        self.write(res, ns, name, live, obj, managers, dry_run, false)
    }

    /// Non-apply patches (`merge`, `strategic-merge` treated as merge, JSON
    /// patch), owned by `manager` with operation `Update`.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &mut self,
        res: &'static Resource,
        ns: &str,
        name: &str,
        kind: PatchKind,
        body: &Value,
        manager: &str,
        dry_run: bool,
    ) -> Result<(u16, Value), ApiError> {
        let live = self
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let mut obj = live.render();
        match kind {
            PatchKind::Merge => {
                if !body.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                fields::merge_patch(&mut obj, body);
            }
            PatchKind::Json => {
                fields::json_patch(&mut obj, body).map_err(|e| ApiError::new(422, "Invalid", e))?
            }
        }
        if !obj.is_object() {
            return Err(ApiError::new(
                422,
                "Invalid",
                "the patched object is not an object",
            ));
        }
        // Patches cannot change the status of the main resource.
        self.update(res, ns, name, live, obj, manager, dry_run)
    }

    /// `POST` to a collection.
    pub fn create(
        &mut self,
        res: &'static Resource,
        ns: &str,
        mut body: Value,
        manager: &str,
        dry_run: bool,
    ) -> Result<(u16, Value), ApiError> {
        Self::check_body(res, ns, None, &body)?;
        let mut name = meta_str(&body, "name").unwrap_or_default().to_string();
        if name.is_empty() {
            let prefix = meta_str(&body, "generateName")
                .unwrap_or_default()
                .to_string();
            if prefix.is_empty() {
                return Err(ApiError {
                    details: Some(json!({ "kind": res.kind, "causes": [{ "reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name" }] })),
                    ..ApiError::new(422, "Invalid", format!("{} \"\" is invalid: metadata.name: Required value: name or generateName is required", res.kind))
                });
            }
            name = format!("{prefix}{}", &self.next_uid()[31..]);
            body["metadata"]["name"] = json!(name);
        }
        if self.get(res, ns, &name).is_some() {
            return Err(ApiError {
                details: Some(res.details(&name)),
                ..ApiError::new(
                    409,
                    "AlreadyExists",
                    format!("{} \"{name}\" already exists", res.qualified()),
                )
            });
        }
        if res.namespaced && !self.namespace_exists(ns) {
            return Err(ns_not_found(ns));
        }
        if let Some(m) = body.as_object_mut() {
            m.remove("status");
        }
        let mut managers = Vec::new();
        update_ownership(
            &mut managers,
            &json!({}),
            &body,
            manager,
            &res.api_version(),
        );
        self.write(res, ns, &name, None, body, managers, dry_run, false)
    }

    /// `PUT` on an object: full replacement (optimistic concurrency on a
    /// `metadata.resourceVersion` in the body, as in the real server).
    pub fn replace(
        &mut self,
        res: &'static Resource,
        ns: &str,
        name: &str,
        body: Value,
        manager: &str,
        dry_run: bool,
    ) -> Result<(u16, Value), ApiError> {
        Self::check_body(res, ns, Some(name), &body)?;
        let live = self
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        if let Some(rv) = meta_str(&body, "resourceVersion").filter(|rv| !rv.is_empty()) {
            if Some(rv) != meta_str(&live.obj, "resourceVersion") {
                return Err(ApiError {
                    details: Some(res.details(name)),
                    ..ApiError::new(409, "Conflict", format!(
                        "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                        res.qualified()
                    ))
                });
            }
        }
        self.update(res, ns, name, live, body, manager, dry_run)
    }

    /// A non-apply write of `obj` over `live` by `manager` (merge/JSON
    /// patch, PUT): the status stays the server's, and `manager` (operation
    /// Update) owns what it changed.
    #[allow(clippy::too_many_arguments)]
    fn update(
        &mut self,
        res: &'static Resource,
        ns: &str,
        name: &str,
        live: Stored,
        mut obj: Value,
        manager: &str,
        dry_run: bool,
    ) -> Result<(u16, Value), ApiError> {
        match live.obj.get("status") {
            Some(s) => obj["status"] = s.clone(),
            None => {
                obj.as_object_mut().map(|m| m.remove("status"));
            }
        }
        let mut managers = live.managers.clone();
        update_ownership(&mut managers, &live.obj, &obj, manager, &res.api_version());
        self.write(res, ns, name, Some(live), obj, managers, dry_run, false)
    }

    /// Store `obj` as the new state of `res/ns/name` (the common tail of every
    /// write): server metadata, defaulting, no-op detection, generation and
    /// resourceVersion, the deployment controller, and the watch event.
    /// Returns the HTTP status (201 on create) and the response object.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &mut self,
        res: &'static Resource,
        ns: &str,
        name: &str,
        live: Option<Stored>,
        mut obj: Value,
        mut managers: Vec<Manager>,
        dry_run: bool,
        keep_status: bool,
    ) -> Result<(u16, Value), ApiError> {
        validate(res, &obj)?;
        if let (Some(l), "Deployment") = (&live, res.kind) {
            // As the real apps/v1 validation: the selector is immutable.
            if l.obj["spec"]["selector"] != obj["spec"]["selector"] {
                return Err(ApiError {
                    details: Some(json!({ "name": name, "group": "apps", "kind": "Deployment", "causes": [{ "reason": "FieldValueInvalid", "message": "Invalid value: field is immutable", "field": "spec.selector" }] })),
                    ..ApiError::new(422, "Invalid", format!("Deployment.apps \"{name}\" is invalid: spec.selector: Invalid value: field is immutable"))
                });
            }
        }
        obj["apiVersion"] = json!(res.api_version());
        obj["kind"] = json!(res.kind);
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let meta = obj["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        meta.remove("managedFields");
        meta.insert("name".into(), json!(name));
        if res.namespaced {
            meta.insert("namespace".into(), json!(ns));
        } else {
            meta.remove("namespace");
        }
        for f in SERVER_METADATA {
            meta.remove(*f);
            if let Some(v) = live.as_ref().and_then(|l| l.obj["metadata"].get(*f)) {
                meta.insert((*f).to_string(), v.clone());
            }
        }
        if live.is_none() && !keep_status {
            obj.as_object_mut().map(|m| m.remove("status"));
        }
        if res.kind == "Service" {
            self.default_cluster_ip(&mut obj, live.as_ref().map(|l| &l.obj));
        }
        if res.kind == "Namespace" {
            // Set on every create and update by the real namespace strategy.
            obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
        }
        // Ownership only of fields that exist.
        let main_leaves: BTreeSet<Path> = fields::leaves(&obj).into_keys().collect();
        let status_leaves = fields::status_leaves(&obj);
        for m in &mut managers {
            let keep = if m.subresource.is_some() {
                &status_leaves
            } else {
                &main_leaves
            };
            m.fields.retain(|p| keep.contains(p));
        }
        managers.retain(|m| !m.fields.is_empty());

        if let Some(l) = &live {
            if l.obj == obj && l.managers == managers {
                // A no-op write: nothing stored, nothing bumped.
                return Ok((200, l.render()));
            }
        }
        let created = live.is_none();
        let old_generation = live
            .as_ref()
            .and_then(|l| l.obj["metadata"]["generation"].as_i64())
            .unwrap_or(0);
        if created {
            let uid = self.next_uid();
            let meta = &mut obj["metadata"];
            meta["uid"] = json!(uid);
            meta["creationTimestamp"] = json!(TIME);
            if has_generation(res) {
                meta["generation"] = json!(1);
            }
        } else if has_generation(res) {
            let l = live.as_ref().expect("live exists when not created");
            if spec_part(&l.obj) != spec_part(&obj) {
                obj["metadata"]["generation"] = json!(old_generation + 1);
            }
        }
        if dry_run {
            // Computed like a real write, but nothing is stored or bumped; a
            // created object has no resourceVersion yet.
            return Ok((
                if created { 201 } else { 200 },
                render(res, &obj, &managers),
            ));
        }
        if res.kind == "Deployment" {
            controller::deployment_written(
                self,
                &mut obj,
                &mut managers,
                live.as_ref().map(|l| &l.obj),
            );
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let stored = Stored { res, obj, managers };
        let rendered = stored.render();
        self.objects.insert(key(res, ns, name), stored);
        let old = live.map(|l| l.render());
        self.push_change(
            res,
            if created { "ADDED" } else { "MODIFIED" },
            rendered.clone(),
            old,
        );
        Ok((if created { 201 } else { 200 }, rendered))
    }

    /// Allocate `spec.clusterIP` / `spec.clusterIPs` once per Service (the
    /// only defaulting done), keeping the live one on updates.
    fn default_cluster_ip(&mut self, obj: &mut Value, live: Option<&Value>) {
        if obj["spec"]["type"].as_str() == Some("ExternalName") {
            return;
        }
        if !obj.get("spec").is_some_and(Value::is_object) {
            obj["spec"] = json!({});
        }
        let ip = match (
            obj["spec"]["clusterIP"].as_str(),
            live.and_then(|l| l["spec"]["clusterIP"].as_str()),
        ) {
            (Some(ip), _) if !ip.is_empty() => ip.to_string(),
            (_, Some(ip)) => ip.to_string(),
            _ => {
                self.ip_counter += 1;
                format!(
                    "10.43.{}.{}",
                    self.ip_counter / 250,
                    self.ip_counter % 250 + 1
                )
            }
        };
        obj["spec"]["clusterIP"] = json!(ip);
        if obj["spec"].get("clusterIPs").is_none() {
            obj["spec"]["clusterIPs"] = json!([ip]);
        }
    }

    /// Create or update an object as the controller (`kube-controller-manager`,
    /// operation Update, status through the `status` subresource).
    pub fn controller_put(&mut self, res: &'static Resource, obj: Value) -> Value {
        let ns = meta_str(&obj, "namespace").unwrap_or_default().to_string();
        let name = meta_str(&obj, "name").unwrap_or_default().to_string();
        let live = self.get(res, &ns, &name).cloned();
        let mut managers = live
            .as_ref()
            .map(|l| l.managers.clone())
            .unwrap_or_default();
        let old = live
            .as_ref()
            .map(|l| l.obj.clone())
            .unwrap_or_else(|| json!({}));
        update_ownership(
            &mut managers,
            &old,
            &obj,
            controller::MANAGER,
            &res.api_version(),
        );
        set_status_owner(&mut managers, &obj, &res.api_version());
        match self.write(res, &ns, &name, live, obj, managers, false, true) {
            Ok((_, v)) => v,
            Err(e) => panic!("API test server: controller write failed: {}", e.message),
        }
    }

    /// `DELETE` of one object, with the garbage collector's cascade (objects
    /// whose ownerReferences name it, and everything in a deleted namespace).
    ///
    /// `opts` is the request's DeleteOptions: `preconditions` (uid /
    /// resourceVersion, 409 on mismatch) and `propagationPolicy: Orphan`
    /// (simplified: dependents are kept, their ownerReferences too).
    pub fn delete(
        &mut self,
        res: &'static Resource,
        ns: &str,
        name: &str,
        dry_run: bool,
        opts: &Value,
    ) -> Result<Value, ApiError> {
        let live = self
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let uid = meta_str(&live.obj, "uid").unwrap_or_default().to_string();
        for (field, have) in [
            ("uid", uid.as_str()),
            (
                "resourceVersion",
                meta_str(&live.obj, "resourceVersion").unwrap_or_default(),
            ),
        ] {
            if let Some(want) = opts["preconditions"][field].as_str() {
                if want != have {
                    return Err(ApiError {
                        details: Some(res.details(name)),
                        ..ApiError::new(409, "Conflict", format!(
                            "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {field}: {want}, ObjectMeta.{field}: {have}",
                            res.qualified()
                        ))
                    });
                }
            }
        }
        let orphan = opts["propagationPolicy"] == "Orphan" || opts["orphanDependents"] == true;
        let response = match res.kind {
            // Namespaces answer with the object in phase Terminating, pods with
            // the object (graceful deletion); other kinds with a Status.
            "Namespace" => {
                let mut v = live.render();
                v["metadata"]["deletionTimestamp"] = json!(TIME);
                v["status"] = json!({ "phase": "Terminating" });
                v
            }
            "Pod" => live.render(),
            _ => {
                let mut details = res.details(name);
                details["uid"] = json!(uid);
                json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details })
            }
        };
        match (dry_run, orphan) {
            (true, _) => {}
            (false, true) => {
                self.remove_one(res, ns, name);
            }
            (false, false) => self.remove_cascade(res, ns, name),
        }
        Ok(response)
    }

    /// Remove an object and (recursively) its dependents, each with a
    /// DELETED watch event.
    pub fn remove_cascade(&mut self, res: &'static Resource, ns: &str, name: &str) {
        let Some(uid) = self.remove_one(res, ns, name) else {
            return;
        };
        let dependents: Vec<(&'static Resource, String, String)> = self
            .objects
            .values()
            .filter(|s| {
                let in_ns = res.kind == "Namespace"
                    && s.res.namespaced
                    && meta_str(&s.obj, "namespace") == Some(name);
                let owned = s.obj["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| {
                        refs.iter().any(|r| r["uid"].as_str() == Some(uid.as_str()))
                    });
                in_ns || owned
            })
            .map(|s| {
                (
                    s.res,
                    meta_str(&s.obj, "namespace")
                        .unwrap_or_default()
                        .to_string(),
                    meta_str(&s.obj, "name").unwrap_or_default().to_string(),
                )
            })
            .collect();
        for (r, n, m) in dependents {
            self.remove_cascade(r, &n, &m);
        }
    }

    /// Remove one object (DELETED watch event); returns its uid.
    fn remove_one(&mut self, res: &'static Resource, ns: &str, name: &str) -> Option<String> {
        let stored = self.objects.remove(&key(res, ns, name))?;
        self.rv += 1;
        let mut gone = stored.render();
        gone["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.push_change(res, "DELETED", gone, None);
        Some(meta_str(&stored.obj, "uid").unwrap_or_default().to_string())
    }

    /// Objects of `res` (in `ns`, or everywhere) matching the filter, sorted.
    pub fn list(
        &self,
        res: &Resource,
        ns: Option<&str>,
        filter: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        self.objects
            .values()
            .filter(|s| {
                s.res == res && ns.is_none_or(|ns| meta_str(&s.obj, "namespace") == Some(ns))
            })
            .map(Stored::render)
            .filter(|o| filter(o))
            .collect()
    }

    /// Seed an object (test helper): as if applied (`Apply`) or updated
    /// (`Update`) by `manager`, status kept as given.
    pub fn seed(
        &mut self,
        obj: Value,
        manager: &str,
        operation: Operation,
    ) -> Result<Value, ApiError> {
        let av = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let res = resources::by_kind(av, kind).ok_or_else(|| {
            ApiError::bad_request(format!("no resource for apiVersion {av:?} kind {kind:?}"))
        })?;
        let name = meta_str(&obj, "name").unwrap_or_default().to_string();
        let ns = if res.namespaced {
            meta_str(&obj, "namespace").unwrap_or("default").to_string()
        } else {
            String::new()
        };
        if name.is_empty() {
            return Err(ApiError::bad_request("metadata.name is required"));
        }
        if res.namespaced && !self.namespace_exists(&ns) {
            return Err(ns_not_found(&ns));
        }
        let live = self.get(res, &ns, &name).cloned();
        let mut managers = live
            .as_ref()
            .map(|l| l.managers.clone())
            .unwrap_or_default();
        let old = live
            .as_ref()
            .map(|l| l.obj.clone())
            .unwrap_or_else(|| json!({}));
        match operation {
            Operation::Update => update_ownership(&mut managers, &old, &obj, manager, av),
            Operation::Apply => {
                managers.retain(|m| !(m.manager == manager && m.operation == Operation::Apply));
                let paths: BTreeSet<Path> = fields::leaves(&obj).into_keys().collect();
                for m in &mut managers {
                    m.fields.retain(|p| !paths.contains(p));
                }
                managers.push(Manager {
                    manager: manager.to_string(),
                    operation: Operation::Apply,
                    subresource: None,
                    api_version: av.to_string(),
                    fields: paths,
                });
            }
        }
        if obj.get("status").is_some() {
            set_status_owner(&mut managers, &obj, av);
        }
        self.write(res, &ns, &name, live, obj, managers, false, true)
            .map(|(_, v)| v)
    }
}

/// Shape checks the real server's decoding and validation would reject
/// (422 Invalid); far from complete, but enough that no client input can
/// make the server misbehave.
fn validate(res: &Resource, obj: &Value) -> Result<(), ApiError> {
    let invalid = |field: &str, what: &str| {
        let message = format!(
            "{} \"{}\" is invalid: {field}: {what}",
            res.kind,
            meta_str(obj, "name").unwrap_or_default()
        );
        Err(ApiError {
            details: Some(
                json!({ "kind": res.kind, "causes": [{ "reason": "FieldValueInvalid", "message": what, "field": field }] }),
            ),
            ..ApiError::new(422, "Invalid", message)
        })
    };
    let is_obj_or_absent = |p: &str| obj.pointer(p).is_none_or(|v| v.is_object() || v.is_null());
    if !obj.is_object() {
        return invalid("<root>", "Invalid value: must be an object");
    }
    for p in ["/metadata", "/spec", "/status"] {
        if !is_obj_or_absent(p) {
            return invalid(&p[1..], "Invalid value: must be an object");
        }
    }
    for p in ["/metadata/labels", "/metadata/annotations"] {
        match obj.pointer(p) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) if m.values().all(Value::is_string) => {}
            Some(_) => {
                return invalid(
                    &p[1..].replace('/', "."),
                    "Invalid value: must be a map of strings",
                )
            }
        }
    }
    if res.kind == "Deployment" {
        for p in [
            "/spec/template",
            "/spec/template/metadata",
            "/spec/template/spec",
            "/spec/selector",
            "/spec/selector/matchLabels",
        ] {
            if !is_obj_or_absent(p) {
                return invalid(
                    &p[1..].replace('/', "."),
                    "Invalid value: must be an object",
                );
            }
        }
        if obj
            .pointer("/spec/template/metadata/labels")
            .is_some_and(|l| !(l.is_object() || l.is_null()))
        {
            return invalid(
                "spec.template.metadata.labels",
                "Invalid value: must be a map of strings",
            );
        }
        if obj.pointer("/spec/replicas").is_some_and(|r| {
            !r.is_null()
                && r.as_i64()
                    .is_none_or(|n| !(0..=i64::from(i32::MAX)).contains(&n))
        }) {
            return invalid(
                "spec.replicas",
                "Invalid value: must be greater than or equal to 0",
            );
        }
        // As the real validation: a selector is required and must match the
        // template's labels.
        if !obj.pointer("/spec/selector").is_some_and(Value::is_object) {
            return invalid("spec.selector", "Required value");
        }
        let labels = obj.pointer("/spec/template/metadata/labels");
        let matches = obj["spec"]["selector"]["matchLabels"]
            .as_object()
            .is_none_or(|want| {
                want.iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            });
        if !matches {
            return invalid(
                "spec.template.metadata.labels",
                "Invalid value: `selector` does not match template `labels`",
            );
        }
    }
    Ok(())
}

/// Which non-apply patch format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json` and (simplified) `strategic-merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
}

/// `namespaces "x" not found`: creating in a missing namespace.
pub fn ns_not_found(ns: &str) -> ApiError {
    ApiError {
        details: Some(json!({ "name": ns, "kind": "namespaces" })),
        ..ApiError::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
    }
}

/// The 409 of a conflicting apply, worded like the real server's
/// `getConflictMessage` / `NewConflictError`.
fn conflict_error(managers: &[Manager], conflicts: &[(usize, Path)]) -> ApiError {
    let mut sorted: Vec<(String, String)> = conflicts
        .iter()
        .map(|(i, p)| (managers[*i].display(), fields::dotted(p)))
        .collect();
    sorted.sort();
    sorted.dedup();
    let causes: Vec<Value> = sorted
        .iter()
        .map(|(m, f)| json!({ "reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": f }))
        .collect();
    let message = if let [(m, f)] = sorted.as_slice() {
        format!("Apply failed with 1 conflict: conflict with {m}: {f}")
    } else {
        let mut lines = Vec::new();
        let mut last: Option<&str> = None;
        for (m, f) in &sorted {
            if last != Some(m.as_str()) {
                lines.push(format!("conflicts with {m}:"));
                last = Some(m);
            }
            lines.push(format!("- {f}"));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            sorted.len(),
            lines.join("\n")
        )
    };
    ApiError {
        details: Some(json!({ "causes": causes })),
        ..ApiError::new(409, "Conflict", message)
    }
}

/// Ownership after a non-apply write, as the real server's update manager
/// does: the writer takes every leaf it added or changed (others lose
/// those), and leaves that disappeared are dropped from every entry.
pub fn update_ownership(
    managers: &mut Vec<Manager>,
    old: &Value,
    new: &Value,
    manager: &str,
    api_version: &str,
) {
    let old_l = fields::leaves(old);
    let new_l = fields::leaves(new);
    let changed: BTreeSet<Path> = new_l
        .iter()
        .filter(|(p, v)| old_l.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    for m in managers.iter_mut().filter(|m| m.subresource.is_none()) {
        m.fields
            .retain(|p| new_l.contains_key(p) && !changed.contains(p));
    }
    if !changed.is_empty() {
        let is_mine = |m: &Manager| {
            m.manager == manager && m.operation == Operation::Update && m.subresource.is_none()
        };
        match managers.iter_mut().find(|m| is_mine(m)) {
            Some(m) => {
                m.fields.extend(changed);
                m.api_version = api_version.to_string();
            }
            None => managers.push(Manager {
                manager: manager.to_string(),
                operation: Operation::Update,
                subresource: None,
                api_version: api_version.to_string(),
                fields: changed,
            }),
        }
    }
    managers.retain(|m| !m.fields.is_empty());
}

/// The controller's `status` subresource entry owns all of `status`.
pub fn set_status_owner(managers: &mut Vec<Manager>, obj: &Value, api_version: &str) {
    managers.retain(|m| m.subresource.is_none());
    let fields = fields::status_leaves(obj);
    if !fields.is_empty() {
        managers.push(Manager {
            manager: controller::MANAGER.to_string(),
            operation: Operation::Update,
            subresource: Some("status"),
            api_version: api_version.to_string(),
            fields,
        });
    }
}
