//! `gen apply`, `gen diff` and `gen rollback` driven as a user runs them
//! (the real binary, a kubeconfig file, the real `kube` client) against the
//! API test server in `tests/apiserver/`. That server is not a cluster: it
//! mirrors the API server's HTTP contract (discovery, server-side apply with
//! field ownership and dry runs, label selectors, watch, a simulated
//! Deployment controller), which is what these tests hold gen's client to.

mod apiserver;
mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use apiserver::{ApiServer, Request, Rollout};
use serde_json::{json, Value};

const PART_OF: &str = "applyset.kubernetes.io/part-of";

/// A temporary workspace: the strategies example catalog and a kubeconfig
/// with contexts `test` (the API test server) and `dead` (a closed port).
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(server: &str) -> Workspace {
        Self::with_token(server, "good-token")
    }

    fn with_token(server: &str, token: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog =
            std::fs::read_to_string(common::root().join("examples/strategies/catalog.yaml"))
                .expect("example catalog");
        std::fs::write(dir.path().join("catalog.yaml"), catalog).expect("write catalog");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\n\
             clusters:\n- name: test\n  cluster: {{server: '{server}'}}\n\
             - name: dead\n  cluster: {{server: 'http://127.0.0.1:9'}}\n\
             users:\n- name: u\n  user: {{token: {token}}}\n\
             contexts:\n- name: test\n  context: {{cluster: test, user: u}}\n\
             - name: dead\n  context: {{cluster: dead, user: u}}\n"
        );
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("write kubeconfig");
        Workspace { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Edit the catalog: replace `from` (which must occur) by `to`.
    fn edit(&self, from: &str, to: &str) {
        let p = self.path("catalog.yaml");
        let text = std::fs::read_to_string(&p).expect("read catalog");
        assert!(text.contains(from), "catalog has no `{from}`");
        std::fs::write(&p, text.replacen(from, to, 1)).expect("write catalog");
    }

    /// Run gen in the workspace with the workspace kubeconfig.
    fn gen(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gen"))
            .args(args)
            .arg("--kubeconfig")
            .arg(self.path("kubeconfig"))
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("HOME", self.dir.path())
            .env("GEN_TODAY", "2026-11-22")
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run gen")
    }
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// The server-side apply requests, in order.
fn applies(reqs: &[Request]) -> Vec<&Request> {
    reqs.iter().filter(|r| r.method == "PATCH").collect()
}

/// `kind/name` of an apply request's body.
fn what(r: &Request) -> String {
    let b = r.body.as_ref().expect("apply body");
    format!(
        "{}/{}",
        b["kind"].as_str().unwrap_or("?"),
        b["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn kind_rank(kind: &str) -> u8 {
    match kind {
        "Namespace" => 0,
        "ServiceAccount" | "ConfigMap" => 1,
        "Service" => 2,
        "Deployment" => 3,
        "HorizontalPodAutoscaler" | "PodDisruptionBudget" => 4,
        "NetworkPolicy" => 5,
        "Ingress" => 6,
        other => panic!("unexpected kind {other}"),
    }
}

/// An API test server (it starts with the system namespaces a cluster
/// has, `default` among them).
fn server() -> ApiServer {
    ApiServer::start()
}

/// Objects on the server besides the system namespaces it starts with.
fn user_objects(srv: &ApiServer) -> Vec<Value> {
    srv.objects()
        .into_iter()
        .filter(|o| {
            !(o["kind"] == "Namespace"
                && ApiServer::SYSTEM_NAMESPACES
                    .contains(&o["metadata"]["name"].as_str().unwrap_or("")))
        })
        .collect()
}

/// nothing was written.
fn versions(srv: &ApiServer) -> Vec<String> {
    srv.objects()
        .iter()
        .map(|o| {
            format!(
                "{}/{}@{}",
                o["kind"].as_str().unwrap_or("?"),
                o["metadata"]["name"].as_str().unwrap_or("?"),
                o["metadata"]["resourceVersion"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The image of the `catalog` Deployment's container.
fn catalog_image(srv: &ApiServer) -> String {
    deployment(srv, "catalog")["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn deployment(srv: &ApiServer, name: &str) -> Value {
    srv.get("apps/v1", "Deployment", Some("shop"), name)
        .unwrap_or_else(|| panic!("deployment {name} exists"))
}

#[test]
fn first_apply_creates_in_dependency_order_and_the_second_changes_nothing() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    // --wait: the simulated controller has settled the rollouts (and their
    // status updates) before the second run.
    let o = ws.gen(&["apply", "--context", "test", "--wait"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("applying to context test"), "{stderr}");
    assert!(
        stdout.contains("namespace/shop  ") && stdout.contains("created"),
        "{stdout}"
    );

    let reqs = srv.requests();
    let patches = applies(&reqs);
    // The ApplySet parent first (so an interrupted run can still be pruned),
    // then every object in dependency order.
    assert_eq!(what(patches[0]), "ConfigMap/gen-applyset-shop");
    let members: Vec<&Request> = patches[1..].to_vec();
    let ranks: Vec<u8> = members
        .iter()
        .map(|r| {
            kind_rank(
                r.body
                    .as_ref()
                    .and_then(|b| b["kind"].as_str())
                    .unwrap_or("?"),
            )
        })
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "apply order: {:?}",
        members.iter().map(|r| what(r)).collect::<Vec<_>>()
    );
    assert_eq!(what(members[0]), "Namespace/shop");
    assert!(members.len() >= 15, "{} objects applied", members.len());
    for r in &patches {
        assert_eq!(
            r.content_type.as_deref(),
            Some("application/apply-patch+yaml"),
            "{}",
            r.path
        );
        assert_eq!(r.param("fieldManager"), Some("gen"), "{}", r.path);
        assert_eq!(r.param("dryRun"), None, "{}", r.path);
        assert_eq!(r.param("force"), None, "{}", r.path);
    }
    // The first request is discovery, before any object is touched.
    assert!(
        reqs[0].path == "/api/v1" || reqs[0].path.starts_with("/apis"),
        "{}",
        reqs[0].path
    );

    // Every member carries the ownership labels.
    let api = deployment(&srv, "catalog");
    let labels = &api["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "gen");
    assert!(
        labels[PART_OF]
            .as_str()
            .is_some_and(|id| id.starts_with("applyset-")),
        "{labels}"
    );
    let parent = srv
        .get("v1", "ConfigMap", Some("default"), "gen-applyset-shop")
        .expect("ApplySet parent");
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        labels[PART_OF]
    );
    let gks = parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap_or_default();
    assert!(
        gks.contains("Deployment.apps") && gks.contains("Ingress.networking.k8s.io"),
        "{gks}"
    );

    // Idempotent: the second run reports everything unchanged and changes
    // no resourceVersion.
    let before = versions(&srv);
    let o = ws.gen(&["apply", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" unchanged") && !last.contains(','),
        "totals: {last}\n{stdout}"
    );
    assert!(
        !stdout.contains("created") && !stdout.contains("configured"),
        "{stdout}"
    );
    assert_eq!(before, versions(&srv));
}

#[test]
fn dry_run_sends_dry_run_all_and_changes_nothing() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    let o = ws.gen(&["apply", "--context", "test", "--dry-run"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("dry run, would be: ") && stdout.contains("created"),
        "{stdout}"
    );
    let reqs = srv.requests();
    let patches = applies(&reqs);
    assert!(!patches.is_empty());
    assert!(
        patches.iter().all(|r| r.param("dryRun") == Some("All")),
        "every PATCH is a dry run"
    );
    assert!(
        reqs.iter()
            .all(|r| r.method == "GET" || r.method == "PATCH"),
        "only reads and dry runs"
    );
    assert!(
        user_objects(&srv).is_empty(),
        "dry run stored {:?}",
        user_objects(&srv)
    );

    // After a real apply, a dry run of a change says `configured` for exactly
    // the changed object and leaves the cluster as it was.
    assert_eq!(code(&ws.gen(&["apply", "--context", "test", "--wait"])), 0);
    ws.edit("replicas: 4", "replicas: 6");
    let before = versions(&srv);
    let o = ws.gen(&["apply", "--context", "test", "--dry-run"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    let configured: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with("configured"))
        .collect();
    assert_eq!(configured.len(), 1, "{stdout}");
    assert!(
        configured[0].starts_with("deployment/catalog -n shop"),
        "{stdout}"
    );
    assert_eq!(before, versions(&srv));
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 4);
}

#[test]
fn prune_deletes_only_objects_of_the_projects_applyset() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    assert_eq!(code(&ws.gen(&["apply", "--context", "test"])), 0);
    let id = deployment(&srv, "catalog")["metadata"]["labels"][PART_OF].clone();
    // Neighbours gen must never delete: no label, and another set's label.
    let foreign = |name: &str, labels: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": "shop", "labels": labels},
               "spec": {"selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
    };
    srv.insert(foreign("hand-made", json!({"app": "hand-made"})), "kubectl");
    srv.insert(
        foreign(
            "other-set",
            json!({"app": "other-set", PART_OF: "applyset-someone-else-v1"}),
        ),
        "kubectl",
    );

    // `search` leaves the catalog.
    let catalog = std::fs::read_to_string(ws.path("catalog.yaml")).expect("read");
    let cut = catalog.find("\n  search:").expect("search service");
    std::fs::write(ws.path("catalog.yaml"), &catalog[..cut + 1]).expect("write");

    // Without --prune nothing is deleted.
    let o = ws.gen(&["apply", "--context", "test"]);
    assert_eq!(code(&o), 0, "{:?}", out(&o));
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "search")
        .is_some());
    assert!(srv.requests().iter().all(|r| r.method != "DELETE"));

    // A dry run lists the deletions and deletes nothing.
    srv.clear_requests();
    let o = ws.gen(&["apply", "--context", "test", "--prune", "--dry-run"]);
    let (stdout, _) = out(&o);
    assert!(
        stdout.contains("deployment/search -n shop") && stdout.contains("pruned"),
        "{stdout}"
    );
    // kube sends DeleteOptions as the body: `{"dryRun": ["All"]}`.
    let deletes: Vec<Request> = srv
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert!(!deletes.is_empty());
    for r in &deletes {
        let body = r.body.clone().unwrap_or_default();
        assert_eq!(body["dryRun"], json!(["All"]), "{}", r.path);
    }
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "search")
        .is_some());

    let o = ws.gen(&["apply", "--context", "test", "--prune"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    let pruned: Vec<&str> = stdout.lines().filter(|l| l.ends_with("  pruned")).collect();
    for gone in [
        "deployment/search -n shop",
        "deployment/search-canary -n shop",
        "service/search -n shop",
        "horizontalpodautoscaler/search -n shop",
    ] {
        assert!(
            pruned.iter().any(|l| l.starts_with(gone)),
            "{gone} not pruned:\n{stdout}"
        );
        let (kind, rest) = gone.split_once('/').expect("kind/name");
        let name = rest.split(' ').next().expect("name");
        let api_version = match kind {
            "deployment" => "apps/v1",
            "horizontalpodautoscaler" => "autoscaling/v2",
            _ => "v1",
        };
        let k = match kind {
            "deployment" => "Deployment",
            "horizontalpodautoscaler" => "HorizontalPodAutoscaler",
            _ => "Service",
        };
        assert!(
            srv.get(api_version, k, Some("shop"), name).is_none(),
            "{gone} still there"
        );
    }
    // Deleted in reverse dependency order: the Ingress before the Service it
    // routes to, the HPA before its Deployment.
    let order: Vec<&str> = pruned
        .iter()
        .map(|l| l.split('/').next().unwrap_or(""))
        .collect();
    let pos = |k: &str| {
        order
            .iter()
            .position(|o| *o == k)
            .unwrap_or_else(|| panic!("{k} in {order:?}"))
    };
    assert!(
        pos("ingress") < pos("service")
            && pos("horizontalpodautoscaler") < pos("deployment")
            && pos("deployment") < pos("serviceaccount"),
        "{order:?}"
    );
    // Every deleted object carried this project's id; the neighbours stay.
    for d in srv.requests().iter().filter(|r| r.method == "DELETE") {
        assert!(d.path.contains("search"), "deleted {}", d.path);
    }
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "hand-made")
        .is_some());
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "other-set")
        .is_some());
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "catalog")
        .is_some());
    assert!(srv.get("v1", "Namespace", None, "shop").is_some());
    assert_eq!(
        deployment(&srv, "catalog")["metadata"]["labels"][PART_OF],
        id
    );
}

#[test]
fn a_field_owned_by_another_manager_is_a_conflict_named_per_field() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    assert_eq!(code(&ws.gen(&["apply", "--context", "test"])), 0);
    // Someone scales by hand (`kubectl scale` is an Update by another manager).
    let mut scaled = deployment(&srv, "catalog");
    scaled["spec"]["replicas"] = json!(7);
    srv.insert_updated(scaled, "kubectl-scale");
    // The catalog now asks for 5: the replicas field is contested.
    ws.edit("replicas: 4", "replicas: 5");
    let o = ws.gen(&["apply", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("conflict: deployment/catalog -n shop"),
        "{stderr}"
    );
    assert!(stderr.contains(".spec.replicas"), "{stderr}");
    assert!(stderr.contains("kubectl-scale"), "{stderr}");
    assert!(stderr.contains("--force-conflicts"), "{stderr}");
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 7);

    let o = ws.gen(&["apply", "--context", "test", "--force-conflicts"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("deployment/catalog -n shop") && l.ends_with("configured")),
        "{stdout}"
    );
    let forced: Vec<Request> = srv
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.param("force") == Some("true"))
        .collect();
    assert!(!forced.is_empty());
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 5);
}

#[test]
fn an_unreachable_server_fails_fast_naming_context_and_server() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    // Nothing listens on port 9.
    let o = ws.gen(&["apply", "--context", "dead"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 3, "{stderr}");
    assert!(
        stderr.contains("context `dead`") && stderr.contains("127.0.0.1:9"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A server that never answers in time: the request bound holds.
    srv.set_latency(Duration::from_secs(30));
    let start = Instant::now();
    let o = ws.gen(&["diff", "--context", "test", "--request-timeout", "1s"]);
    let took = start.elapsed();
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 3, "{stderr}");
    assert!(
        stderr.contains("cannot reach the API server of context `test`"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn missing_context_kubeconfig_or_credentials_are_clear_errors() {
    let srv = server();
    srv.require_token(Some("good-token"));
    let ws = Workspace::new(&srv.url());
    let o = ws.gen(&["apply", "--context", "tset"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stderr}");
    assert!(
        stderr.contains("context `tset` is not in the kubeconfig"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `test`?"), "{stderr}");

    let o = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args([
            "diff",
            "--context",
            "test",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
        ])
        .current_dir(ws.dir.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run gen");
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stderr}");
    assert!(
        stderr.contains("cannot read the kubeconfig /nonexistent/kubeconfig"),
        "{stderr}"
    );

    let o = ws.gen(&["diff"]);
    assert_eq!(code(&o), 2, "{:?}", out(&o));
    assert!(out(&o).1.contains("--context"), "{:?}", out(&o));

    let bad = Workspace::with_token(&srv.url(), "stale-token");
    let o = bad.gen(&["apply", "--context", "test"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 3, "{stderr}");
    assert!(
        stderr.contains("rejected the credentials") && stderr.contains("context `test`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("stale-token"),
        "the token leaked: {stderr}"
    );
    assert!(user_objects(&srv).is_empty());
}

#[test]
fn lint_errors_stop_apply_before_any_request() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    // A policy error, not a catalog error: lint refuses it.
    ws.edit(
        "    image: ghcr.io/shop/catalog:4.0.2-aa11bb2\n",
        "    image: ghcr.io/shop/catalog:4.0.2-aa11bb2\n    env: {DB_PASSWORD: hunter2}\n",
    );
    let o = ws.gen(&["apply", "--context", "test"]);
    let (_, stderr) = out(&o);
    assert_ne!(code(&o), 0, "{stderr}");
    assert!(
        stderr.contains("nothing was sent to the cluster"),
        "{stderr}"
    );
    assert!(srv.requests().is_empty(), "{:?}", srv.requests());
}

#[test]
fn wait_follows_rollouts_and_explains_a_failed_one() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    let o = ws.gen(&["apply", "--context", "test", "--wait", "--timeout", "30s"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("deployment/catalog -n shop: successfully rolled out"),
        "{stderr}"
    );
    assert!(stderr.contains("every deployment rolled out"), "{stderr}");
    let watched = srv
        .requests()
        .iter()
        .filter(|r| r.param("watch").is_some_and(|w| w == "true" || w == "1"))
        .count();
    assert!(watched >= 4, "{watched} watches");

    srv.set_rollout(
        "catalog",
        Rollout::Stuck {
            reason: "ImagePullBackOff",
            message: "Back-off pulling image \"ghcr.io/shop/catalog:4.0.3-bad0000\"",
        },
    );
    ws.edit("catalog:4.0.2-aa11bb2", "catalog:4.0.3-bad0000");
    let o = ws.gen(&["apply", "--context", "test", "--wait", "--timeout", "30s"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("rollout of deployment/catalog -n shop failed"),
        "{stderr}"
    );
    assert!(stderr.contains("ProgressDeadlineExceeded"), "{stderr}");
    assert!(stderr.contains("ImagePullBackOff"), "{stderr}");
    assert!(
        stderr.contains("gen rollback catalog --context test"),
        "{stderr}"
    );
}

#[test]
fn diff_is_a_drift_check() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    // Nothing applied yet: everything is drift.
    let o = ws.gen(&["diff", "--context", "test"]);
    assert_eq!(code(&o), 1, "{:?}", out(&o));
    assert!(user_objects(&srv).is_empty(), "diff changed the cluster");

    assert_eq!(code(&ws.gen(&["apply", "--context", "test"])), 0);
    let o = ws.gen(&["diff", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no drift"), "{stderr}");

    ws.edit("replicas: 4", "replicas: 6");
    let o = ws.gen(&["diff", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("--- live: deployment/catalog -n shop"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-  replicas: 4") && stdout.contains("+  replicas: 6"),
        "{stdout}"
    );
    // Server-maintained fields are not drift.
    for noise in ["managedFields", "resourceVersion", "uid:", "status:"] {
        assert!(!stdout.contains(noise), "{noise} in\n{stdout}");
    }
    assert!(stderr.contains("1 object(s) differ"), "{stderr}");
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 4);
}

#[test]
fn rollback_reapplies_the_previous_template_or_switches_the_colour() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    assert_eq!(code(&ws.gen(&["apply", "--context", "test", "--wait"])), 0);
    ws.edit("catalog:4.0.2-aa11bb2", "catalog:4.1.0-ff00ee1");
    assert_eq!(code(&ws.gen(&["apply", "--context", "test", "--wait"])), 0);
    assert_eq!(catalog_image(&srv), "ghcr.io/shop/catalog:4.1.0-ff00ee1");

    let o = ws.gen(&["rollback", "catalog", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("deployment/catalog -n shop: rolled back from revision 2 to revision 1"),
        "{stdout}"
    );
    assert_eq!(catalog_image(&srv), "ghcr.io/shop/catalog:4.0.2-aa11bb2");
    let labels = &deployment(&srv, "catalog")["spec"]["template"]["metadata"]["labels"];
    assert!(labels.get("pod-template-hash").is_none(), "{labels}");

    let o = ws.gen(&[
        "rollback",
        "catalog",
        "--context",
        "test",
        "--to-revision",
        "9",
    ]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stderr}");
    assert!(stderr.contains("revision 9 does not exist"), "{stderr}");

    // Blue-green: the live colour (green) switches back to blue.
    let colour = |srv: &ApiServer| {
        srv.get("v1", "Service", Some("shop"), "checkout")
            .expect("service")["spec"]["selector"]["gen.dev/track"]
            .clone()
    };
    assert_eq!(colour(&srv), "green");
    let o = ws.gen(&["rollback", "checkout", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("service/checkout -n shop: rolled back from green to blue"),
        "{stdout}"
    );
    assert_eq!(colour(&srv), "blue");

    let o = ws.gen(&["rollback", "chekout", "--context", "test"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stderr}");
    assert!(stderr.contains("did you mean `checkout`?"), "{stderr}");
}

/// The strategies catalog with two environments on the workspace's
/// contexts: `staging` on `dead` and a protected `prod` on `test`.
fn with_environments(ws: &Workspace) {
    let p = ws.path("catalog.yaml");
    let mut text = std::fs::read_to_string(&p).expect("read catalog");
    text.push_str(
        "\nenvironments:\n  staging:\n    context: dead\n    services:\n      catalog: {replicas: 2, min_available: 1}\n  prod:\n    context: test\n    protected: true\n    services:\n      catalog: {replicas: 6}\n",
    );
    std::fs::write(&p, text).expect("write catalog");
}

#[test]
fn a_protected_context_needs_yes_or_a_confirmation() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    with_environments(&ws);
    // `--context test` is prod's context: prod's overrides, prod's protection.
    // Without a terminal and without --yes gen shows the plan and refuses.
    let o = ws.gen(&["apply", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("environment prod"), "{stderr}");
    assert!(stderr.contains("context `test` is protected"), "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(
        stdout.contains("dry run, would be: ") && stdout.contains("created"),
        "{stdout}"
    );
    assert!(
        user_objects(&srv).is_empty(),
        "a refused apply changed the cluster"
    );
    assert!(srv
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .all(|r| r.param("dryRun") == Some("All")));

    // --yes applies prod's render: 6 replicas, not the base 4.
    let o = ws.gen(&["apply", "--env", "prod", "--yes"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 6);

    // Nothing to change: no confirmation needed.
    let o = ws.gen(&["apply", "--context", "test"]);
    assert_eq!(code(&o), 0, "{:?}", out(&o));

    // A change again, confirmed at a terminal (`script` gives gen a tty).
    ws.edit("replicas: 6", "replicas: 7");
    let kubeconfig = ws.path("kubeconfig");
    let command = format!(
        "{} apply --context test --kubeconfig {}",
        env!("CARGO_BIN_EXE_gen"),
        kubeconfig.display()
    );
    let answer = |reply: &str| {
        let mut child = Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .current_dir(ws.dir.path())
            .env("NO_COLOR", "1")
            .env("HOME", ws.dir.path())
            .env("GEN_TODAY", "2026-11-22")
            .env_remove("KUBECONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run script");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(reply.as_bytes())
            .expect("answer");
        child.wait_with_output().expect("wait")
    };
    let o = answer("n\n");
    let (stdout, _) = out(&o);
    assert!(
        stdout.contains("apply these changes to the protected context `test`?"),
        "{stdout}"
    );
    assert!(
        stdout.contains("nothing changed: the confirmation was declined"),
        "{stdout}"
    );
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 6);
    let o = answer("y\n");
    let (stdout, _) = out(&o);
    assert!(stdout.contains("configured"), "{stdout}");
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 7);
}

#[test]
fn the_environment_picks_overrides_and_context() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    with_environments(&ws);
    // staging lives on context `dead`: --env staging goes there.
    let o = ws.gen(&["diff", "--env", "staging"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 3, "{stderr}");
    assert!(stderr.contains("context `dead`"), "{stderr}");
    // --context overrides it; the objects are staging's (2 replicas). But
    // `test` is the protected prod's context: protection follows the
    // cluster, so staging's settings need the confirmation there too.
    let o = ws.gen(&["apply", "--env", "staging", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("context `test` is protected (environment `prod`)"),
        "{stderr}"
    );
    assert!(
        user_objects(&srv).is_empty(),
        "a refused apply changed the cluster"
    );
    let o = ws.gen(&["apply", "--env", "staging", "--context", "test", "--yes"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("environment staging"), "{stderr}");
    assert_eq!(deployment(&srv, "catalog")["spec"]["replicas"], 2);
    let o = ws.gen(&["diff", "--env", "stagign"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stderr}");
    assert!(stderr.contains("staging"), "{stderr}");
}

#[test]
fn a_context_of_no_environment_is_refused_when_the_catalog_has_environments() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    with_environments(&ws);
    // A second name for a cluster (or a typo) must not get the defaults
    // and slip past prod's protection: gen asks which environment.
    let before = srv.requests().len();
    for args in [
        &["apply", "--context", "prod-admin", "--yes"][..],
        &["diff", "--context", "prod-admin"][..],
    ] {
        let command = args[0];
        let o = ws.gen(args);
        let (stdout, stderr) = out(&o);
        assert_eq!(code(&o), 2, "{command}: {stdout}\n{stderr}");
        // The help is wrapped to the terminal width; compare it unwrapped.
        let flat = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains("context `prod-admin` belongs to no environment of the catalog"),
            "{command}: {stderr}"
        );
        assert!(
            flat.contains("prod (context `test`, protected), staging (context `dead`)")
                && flat.contains("--env NAME"),
            "{command}: {stderr}"
        );
    }
    assert_eq!(
        srv.requests().len(),
        before,
        "a refused command reached the server"
    );
    assert!(user_objects(&srv).is_empty());
}

#[test]
fn rollback_on_a_protected_context_needs_yes() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    with_environments(&ws);
    assert_eq!(
        code(&ws.gen(&["apply", "--env", "prod", "--yes", "--wait"])),
        0
    );
    ws.edit("catalog:4.0.2-aa11bb2", "catalog:4.1.0-ff00ee1");
    assert_eq!(
        code(&ws.gen(&["apply", "--env", "prod", "--yes", "--wait"])),
        0
    );
    assert_eq!(catalog_image(&srv), "ghcr.io/shop/catalog:4.1.0-ff00ee1");

    // No terminal, no --yes: refused, nothing changed.
    let o = ws.gen(&["rollback", "catalog", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("context `test` is protected (environment `prod`)"),
        "{stderr}"
    );
    assert_eq!(catalog_image(&srv), "ghcr.io/shop/catalog:4.1.0-ff00ee1");

    let o = ws.gen(&["rollback", "catalog", "--env", "prod", "--yes"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert_eq!(catalog_image(&srv), "ghcr.io/shop/catalog:4.0.2-aa11bb2");
}

#[test]
fn rollback_of_a_canary_service_aborts_the_canary() {
    let srv = server();
    let ws = Workspace::new(&srv.url());
    assert_eq!(code(&ws.gen(&["apply", "--context", "test", "--wait"])), 0);
    let weight = |srv: &ApiServer| {
        srv.get(
            "networking.k8s.io/v1",
            "Ingress",
            Some("shop"),
            "search-canary",
        )
        .expect("canary ingress")["metadata"]["annotations"]
            ["nginx.ingress.kubernetes.io/canary-weight"]
            .clone()
    };
    assert_eq!(weight(&srv), "20");
    let stable_before = deployment(&srv, "search")["spec"].clone();
    assert_eq!(deployment(&srv, "search-canary")["spec"]["replicas"], 1);

    let o = ws.gen(&["rollback", "search", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "canary of service/search -n shop: rolled back from 20% of requests to 0% of requests, deployment/search-canary scaled to 0"
        ),
        "{stdout}"
    );
    assert_eq!(weight(&srv), "0");
    assert_eq!(deployment(&srv, "search-canary")["spec"]["replicas"], 0);
    assert_eq!(
        deployment(&srv, "search")["spec"],
        stable_before,
        "the stable Deployment was touched"
    );
    // gen still owns both fields: the next apply restores the catalog's canary.
    let o = ws.gen(&["apply", "--context", "test"]);
    assert_eq!(code(&o), 0, "{:?}", out(&o));
    assert_eq!(weight(&srv), "20");
    assert_eq!(deployment(&srv, "search-canary")["spec"]["replicas"], 1);
}
