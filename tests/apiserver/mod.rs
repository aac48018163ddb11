//! The Kubernetes API test server: a small in-process HTTP server that
//! speaks enough of the kube-apiserver REST API (same URL layout, status
//! codes, `Status` error bodies, list / watch formats, server-side apply with
//! field ownership) for the `kube` client code of `gen apply` / `gen diff` /
//! `gen rollback` to be tested against it. It is a test double, not a
//! cluster: there are no nodes, no kubelet and no real controllers.
//!
//! ```ignore
//! mod apiserver;
//! let srv = apiserver::ApiServer::start(); // own thread + tokio runtime, stops on Drop
//! // kubeconfig: server: srv.url()
//! ```
//!
//! Which real behaviour each part mirrors, and how it is simplified, is
//! documented on the submodules: [`resources`] (discovery, legacy and
//! aggregated), [`store`] (objects, apply, patch, create, replace, delete),
//! [`fields`] (field ownership and patch formats), [`selector`],
//! [`controller`] (Deployment rollouts) and the watch handler below. The main
//! simplifications: plain HTTP and JSON only (no TLS, protobuf or CBOR); one
//! version per group and no subresources (`/status`, `/scale` are 404);
//! lists are atomic in field ownership (no per-item `k:{...}` keys); no
//! defaulting except Service `clusterIP(s)`; deletes and garbage collection
//! are immediate; the deployment controller acts synchronously inside the
//! write and every timestamp is `2026-01-01T00:00:00Z`.
#![allow(dead_code)]

mod controller;
mod fields;
mod resources;
mod selector;
mod store;
mod yaml;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{broadcast, oneshot};

use resources::Resource;
use selector::{FieldSelector, LabelSelector};
use store::{ApiError, Change, Operation, PatchKind, State, Timer};

/// One request as received (recorded before authentication).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    /// The body parsed as JSON (or YAML); `None` when empty or unparseable.
    pub body: Option<Value>,
}

impl Request {
    /// The first value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the simulated deployment controller rolls out a Deployment
/// (selected by Deployment name, any namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// The new ReplicaSet becomes fully available `after` the change.
    Ready { after: Duration },
    /// Pods never become ready: their containers wait with `reason` /
    /// `message` (e.g. `ImagePullBackOff`), Warning events are recorded, and
    /// after ~200 ms the Deployment reports `ProgressDeadlineExceeded`.
    Stuck {
        reason: &'static str,
        message: &'static str,
    },
}

impl Default for Rollout {
    fn default() -> Self {
        Rollout::Ready {
            after: Duration::from_millis(200),
        }
    }
}

/// State shared between the test thread and the server's runtime.
struct Shared {
    state: Mutex<State>,
    runtime: tokio::runtime::Handle,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not take the server down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start the controller timers requested by the last operation.
    fn schedule(self: &Arc<Self>, timers: Vec<Timer>) {
        for t in timers {
            let shared = self.clone();
            self.runtime.spawn(async move {
                tokio::time::sleep(t.delay).await;
                let more = {
                    let mut st = shared.lock();
                    controller::fire(&mut st, &t);
                    std::mem::take(&mut st.timers)
                };
                shared.schedule(more);
            });
        }
    }

    /// Run `f` under the lock, then schedule any timers it requested.
    fn with<T>(self: &Arc<Self>, f: impl FnOnce(&mut State) -> T) -> T {
        let (out, timers) = {
            let mut st = self.lock();
            let out = f(&mut st);
            (out, std::mem::take(&mut st.timers))
        };
        self.schedule(timers);
        out
    }
}

/// A running API test server; stops when dropped.
pub struct ApiServer {
    url: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ApiServer {
    /// The namespaces that exist from the start, as on a real cluster:
    /// `default`, `kube-node-lease`, `kube-public`, `kube-system`.
    pub const SYSTEM_NAMESPACES: &'static [&'static str] = store::SYSTEM_NAMESPACES;

    /// Bind `127.0.0.1:0` and serve on a dedicated thread with its own
    /// tokio runtime.
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("set_nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::bootstrap()),
            runtime: runtime.handle().clone(),
        });
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let thread = std::thread::Builder::new()
            .name("apiserver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        r = axum::serve(listener, app) => { r.expect("API test server failed"); }
                        _ = stop_rx => {}
                    }
                });
                // Dropping the runtime cancels open watch streams and timers.
                runtime.shutdown_background();
            })
            .expect("spawn API test server thread");
        Self {
            url: format!("http://{addr}"),
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// The stored object, as a GET would return it.
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let res = resources::by_kind(api_version, kind)?;
        let st = self.shared.lock();
        st.get(res, namespace.unwrap_or_default(), name)
            .map(store::Stored::render)
    }

    /// Every stored object, sorted by (kind, namespace, name).
    pub fn objects(&self) -> Vec<Value> {
        self.shared
            .lock()
            .objects
            .values()
            .map(store::Stored::render)
            .collect()
    }

    /// Seed an object as if server-side applied by `manager` (operation
    /// `Apply`). A `status` in `obj` is kept. Namespaces other than
    /// [`Self::SYSTEM_NAMESPACES`] are not created implicitly. Runs the
    /// deployment controller for Deployments. Panics on an invalid object or
    /// a missing namespace.
    pub fn insert(&self, obj: Value, manager: &str) -> Value {
        self.insert_as(obj, manager, Operation::Apply)
    }

    /// Seed an object as if written by `manager` with a non-apply operation
    /// (`Update`, like `kubectl edit` / `kubectl scale`); conflicts with such
    /// a manager read `conflict with "m" using apps/v1`.
    pub fn insert_updated(&self, obj: Value, manager: &str) -> Value {
        self.insert_as(obj, manager, Operation::Update)
    }

    fn insert_as(&self, obj: Value, manager: &str, op: Operation) -> Value {
        match self.shared.with(|st| st.seed(obj, manager, op)) {
            Ok(v) => v,
            Err(e) => panic!("ApiServer::insert: {} ({})", e.message, e.code),
        }
    }

    /// Require `Authorization: Bearer <token>` on every request (`None`:
    /// accept anything, the default).
    pub fn require_token(&self, token: Option<&str>) {
        self.shared.lock().token = token.map(str::to_string);
    }

    /// How the Deployment `name` rolls out from now on.
    pub fn set_rollout(&self, name: &str, rollout: Rollout) {
        self.shared
            .lock()
            .rollouts
            .insert(name.to_string(), rollout);
    }

    /// Delay every response by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP layer

fn json_response(code: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code, &e.status())
}

/// Percent-decode a URL component (`+` is a space in query strings only).
fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(p, true), String::new()),
        })
        .collect()
}

/// What a URL names.
enum Route {
    Version,
    CoreVersions,
    Groups,
    Group(String),
    Resources(String, String),
    /// A collection: `ns` is `None` for cluster-scoped kinds and all-namespace lists.
    Collection(&'static Resource, Option<String>),
    Item(&'static Resource, Option<String>, String),
}

fn route(path: &str) -> Result<Route, ApiError> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode(s, false))
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Ok(Route::Version),
        ["api"] => return Ok(Route::CoreVersions),
        ["apis"] => return Ok(Route::Groups),
        ["apis", g] => return Ok(Route::Group((*g).to_string())),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::no_route()),
    };
    if !resources::has_group_version(group, version) {
        return Err(ApiError::no_route());
    }
    let res =
        |plural: &str| resources::by_plural(group, version, plural).ok_or_else(ApiError::no_route);
    match rest {
        [] => Ok(Route::Resources(group.to_string(), version.to_string())),
        [plural] => Ok(Route::Collection(res(plural)?, None)),
        ["namespaces", ns, plural] => {
            let r = res(plural)?;
            if !r.namespaced {
                return Err(ApiError::no_route());
            }
            Ok(Route::Collection(r, Some((*ns).to_string())))
        }
        ["namespaces", ns, plural, name] => {
            let r = res(plural)?;
            if !r.namespaced {
                return Err(ApiError::no_route());
            }
            Ok(Route::Item(r, Some((*ns).to_string()), (*name).to_string()))
        }
        [plural, name] => {
            let r = res(plural)?;
            if r.namespaced {
                return Err(ApiError::no_route());
            }
            Ok(Route::Item(r, None, (*name).to_string()))
        }
        // Subresources (`/status`, `/scale`, `/log`, ...) are not served.
        _ => Err(ApiError::no_route()),
    }
}

/// The media type of a Content-Type header, without parameters.
fn media_type(ct: Option<&str>) -> String {
    ct.unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn parse_body(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.trim().is_empty() {
        return None;
    }
    yaml::parse(text).ok()
}

/// The axum fallback: every request goes through here.
async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let header = |h: &HeaderMap, name: header::HeaderName| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let request = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parse_query(parts.uri.query()),
        content_type: header(&parts.headers, header::CONTENT_TYPE),
        authorization: header(&parts.headers, header::AUTHORIZATION),
        body: parse_body(&bytes),
    };
    let (latency, token) = {
        let mut st = shared.lock();
        st.requests.push(request.clone());
        (st.latency, st.token.clone())
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(t) = token {
        if request.authorization.as_deref() != Some(format!("Bearer {t}").as_str()) {
            return error_response(&ApiError::new(401, "Unauthorized", "Unauthorized"));
        }
    }
    let user_agent = header(&parts.headers, header::USER_AGENT);
    let accept = header(&parts.headers, header::ACCEPT);
    match dispatch(
        &shared,
        &parts.method,
        &request,
        &bytes,
        user_agent.as_deref(),
        accept.as_deref(),
    ) {
        Ok(Reply::Json(code, v)) => json_response(code, &v),
        Ok(Reply::Aggregated(v)) => {
            let mut r = json_response(200, &v);
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(resources::AGGREGATED_CONTENT_TYPE),
            );
            r
        }
        Ok(Reply::Watch(w)) => watch_response(&shared, w),
        Err(e) => error_response(&e),
    }
}

enum Reply {
    Json(u16, Value),
    /// A 200 with the aggregated discovery content type.
    Aggregated(Value),
    Watch(WatchRequest),
}

/// `dryRun=All` (any other value is rejected like the real server does).
fn dry_run(req: &Request) -> Result<bool, ApiError> {
    match req.param("dryRun") {
        None | Some("") => Ok(false),
        Some("All") => Ok(true),
        Some(v) => Err(ApiError::bad_request(format!(
            "Unsupported value: \"{v}\": supported values: \"All\""
        ))),
    }
}

/// The field manager of a non-apply write: `fieldManager`, else the
/// User-Agent up to the first `/` (as the real server derives it).
fn update_manager(req: &Request, user_agent: Option<&str>) -> String {
    match req.param("fieldManager") {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => user_agent
            .and_then(|ua| ua.split('/').next())
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    }
}

fn dispatch(
    shared: &Arc<Shared>,
    method: &Method,
    req: &Request,
    bytes: &[u8],
    user_agent: Option<&str>,
    accept: Option<&str>,
) -> Result<Reply, ApiError> {
    let route = route(&req.path)?;
    let not_allowed = || {
        ApiError::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    };
    let body = || -> Result<Value, ApiError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
        yaml::parse(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding the request body: {e}")))
    };
    match route {
        Route::Version
        | Route::CoreVersions
        | Route::Groups
        | Route::Group(_)
        | Route::Resources(..)
            if method != Method::GET =>
        {
            Err(not_allowed())
        }
        Route::Version => Ok(Reply::Json(200, resources::version())),
        Route::CoreVersions if resources::wants_aggregated(accept) => {
            Ok(Reply::Aggregated(resources::aggregated(true)))
        }
        Route::Groups if resources::wants_aggregated(accept) => {
            Ok(Reply::Aggregated(resources::aggregated(false)))
        }
        Route::CoreVersions => Ok(Reply::Json(200, resources::core_versions())),
        Route::Groups => Ok(Reply::Json(200, resources::group_list())),
        Route::Group(g) => resources::group(&g)
            .map(|v| Reply::Json(200, v))
            .ok_or_else(ApiError::no_route),
        Route::Resources(g, v) => Ok(Reply::Json(200, resources::resource_list(&g, &v))),
        Route::Collection(res, ns) => match *method {
            Method::GET => {
                let label = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())
                    .map_err(ApiError::bad_request)?;
                let field =
                    FieldSelector::parse(req.param("fieldSelector").unwrap_or_default(), res.kind)
                        .map_err(ApiError::bad_request)?;
                if matches!(req.param("watch"), Some("true" | "1")) {
                    let timeout = match req.param("timeoutSeconds") {
                        None => 30,
                        Some(t) => t.parse::<u64>().map_err(|_| {
                            ApiError::bad_request(format!("invalid timeoutSeconds {t:?}"))
                        })?,
                    };
                    let rv = match req.param("resourceVersion") {
                        None | Some("" | "0") => None,
                        Some(v) => Some(v.parse::<u64>().map_err(|_| {
                            ApiError::bad_request(format!("invalid resource version: {v}"))
                        })?),
                    };
                    return Ok(Reply::Watch(WatchRequest {
                        res,
                        ns,
                        label,
                        field,
                        rv,
                        timeout: Duration::from_secs(timeout.min(60)),
                    }));
                }
                let st = shared.lock();
                let items = st.list(res, ns.as_deref(), |o| label.matches(o) && field.matches(o));
                Ok(Reply::Json(
                    200,
                    json!({
                        "apiVersion": res.api_version(),
                        "kind": format!("{}List", res.kind),
                        "metadata": { "resourceVersion": st.rv.to_string() },
                        "items": items,
                    }),
                ))
            }
            Method::POST => {
                if res.namespaced && ns.is_none() {
                    return Err(not_allowed());
                }
                let dry = dry_run(req)?;
                let manager = update_manager(req, user_agent);
                let body = body()?;
                let (code, v) = shared.with(|st| {
                    st.create(res, ns.as_deref().unwrap_or_default(), body, &manager, dry)
                })?;
                Ok(Reply::Json(code, v))
            }
            _ => Err(not_allowed()),
        },
        Route::Item(res, ns, name) => {
            let ns = ns.unwrap_or_default();
            match *method {
                Method::GET => {
                    let st = shared.lock();
                    st.get(res, &ns, &name)
                        .map(|s| Reply::Json(200, s.render()))
                        .ok_or_else(|| ApiError::not_found(res, &name))
                }
                Method::DELETE => {
                    // DeleteOptions may come in the body (kube sends them there).
                    let opts = req.body.clone().unwrap_or(Value::Null);
                    let dry = dry_run(req)?
                        || opts["dryRun"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|v| v == "All"));
                    shared
                        .with(|st| st.delete(res, &ns, &name, dry, &opts))
                        .map(|v| Reply::Json(200, v))
                }
                Method::PUT => {
                    let dry = dry_run(req)?;
                    let manager = update_manager(req, user_agent);
                    let body = body()?;
                    let (code, v) =
                        shared.with(|st| st.replace(res, &ns, &name, body, &manager, dry))?;
                    Ok(Reply::Json(code, v))
                }
                Method::PATCH => {
                    let dry = dry_run(req)?;
                    let force = match req.param("force") {
                        None | Some("false") => false,
                        Some("true") => true,
                        Some(v) => {
                            return Err(ApiError::bad_request(format!("invalid force value {v:?}")))
                        }
                    };
                    let ct = media_type(req.content_type.as_deref());
                    if ct == "application/apply-patch+yaml" {
                        let manager = req.param("fieldManager").unwrap_or_default().to_string();
                        if manager.is_empty() {
                            return Err(ApiError {
                                details: Some(json!({ "group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{ "reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager" }] })),
                                ..ApiError::new(
                                    400,
                                    "Invalid",
                                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                                )
                            });
                        }
                        let body = body()?;
                        let (code, v) = shared
                            .with(|st| st.apply(res, &ns, &name, body, &manager, force, dry))?;
                        return Ok(Reply::Json(code, v));
                    }
                    let kind = match ct.as_str() {
                        "application/merge-patch+json" | "application/strategic-merge-patch+json" => PatchKind::Merge,
                        "application/json-patch+json" => PatchKind::Json,
                        _ => {
                            return Err(ApiError::new(
                                415,
                                "UnsupportedMediaType",
                                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json",
                            ))
                        }
                    };
                    if force {
                        return Err(ApiError::new(
                            422,
                            "Invalid",
                            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
                        ));
                    }
                    let manager = update_manager(req, user_agent);
                    let patch: Value = serde_json::from_slice(bytes)
                        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
                    let (code, v) =
                        shared.with(|st| st.patch(res, &ns, &name, kind, &patch, &manager, dry))?;
                    Ok(Reply::Json(code, v))
                }
                _ => Err(not_allowed()),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Watch

/// A parsed `?watch=true` request.
struct WatchRequest {
    res: &'static Resource,
    ns: Option<String>,
    label: LabelSelector,
    field: FieldSelector,
    /// `None`: start with ADDED for every matching object.
    rv: Option<u64>,
    timeout: Duration,
}

impl WatchRequest {
    fn matches(&self, o: &Value) -> bool {
        self.label.matches(o) && self.field.matches(o)
    }

    /// The watch event a committed change produces for this watcher, as
    /// the real watch cache filters it: an object moving into the selection
    /// is ADDED, moving out is DELETED.
    fn event_for(&self, c: &Change) -> Option<(&'static str, Value)> {
        if c.kind != self.res.kind || self.ns.as_deref().is_some_and(|ns| ns != c.namespace) {
            return None;
        }
        let now = self.matches(&c.object);
        match (c.event, &c.old) {
            ("MODIFIED", Some(old)) => match (self.matches(old), now) {
                (true, true) => Some(("MODIFIED", c.object.clone())),
                (false, true) => Some(("ADDED", c.object.clone())),
                (true, false) => Some(("DELETED", c.object.clone())),
                (false, false) => None,
            },
            (event, _) => now.then(|| (event, c.object.clone())),
        }
    }
}

fn watch_line(event: &str, object: &Value) -> Bytes {
    let mut line = json!({ "type": event, "object": object }).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// A chunked stream of newline-delimited `{"type","object"}` events:
/// first the initial state (or the history after `resourceVersion`), then
/// live changes until `timeoutSeconds` (capped at 60 s). A
/// `resourceVersion` older than the kept history gets an ERROR event with a
/// 410 Expired Status, like the real server.
fn watch_response(shared: &Arc<Shared>, w: WatchRequest) -> Response {
    let (pending, rx, expired) = {
        let st = shared.lock();
        let mut pending = VecDeque::new();
        let mut expired = false;
        match w.rv {
            None => {
                for o in st.list(w.res, w.ns.as_deref(), |o| w.matches(o)) {
                    pending.push_back(watch_line("ADDED", &o));
                }
            }
            Some(rv) => {
                let oldest = st
                    .history
                    .front()
                    .map(|c| c.rv)
                    .unwrap_or(st.rv.saturating_add(1));
                if rv.saturating_add(1) < oldest && rv < st.rv {
                    let e = ApiError::new(
                        410,
                        "Expired",
                        format!("too old resource version: {rv} ({})", oldest - 1),
                    );
                    pending.push_back(watch_line("ERROR", &e.status()));
                    expired = true;
                } else {
                    for c in st.history.iter().filter(|c| c.rv > rv) {
                        if let Some((event, obj)) = w.event_for(c) {
                            pending.push_back(watch_line(event, &obj));
                        }
                    }
                }
            }
        }
        (pending, st.tx.subscribe(), expired)
    };
    struct Stream {
        pending: VecDeque<Bytes>,
        rx: broadcast::Receiver<Arc<Change>>,
        deadline: tokio::time::Instant,
        w: WatchRequest,
        done: bool,
    }
    let deadline = tokio::time::Instant::now() + w.timeout;
    let init = Stream {
        pending,
        rx,
        deadline,
        w,
        done: expired,
    };
    let stream = futures_util::stream::unfold(init, |mut s| async move {
        if let Some(b) = s.pending.pop_front() {
            return Some((Ok::<_, Infallible>(b), s));
        }
        if s.done {
            return None;
        }
        loop {
            match tokio::time::timeout_at(s.deadline, s.rx.recv()).await {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    s.done = true;
                    let e = ApiError::new(
                        410,
                        "Expired",
                        "watch fell behind; too old resource version",
                    );
                    return Some((Ok(watch_line("ERROR", &e.status())), s));
                }
                Ok(Ok(change)) => {
                    if let Some((event, obj)) = s.w.event_for(&change) {
                        return Some((Ok(watch_line(event, &obj)), s));
                    }
                }
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
