//! `gen apply`, `gen diff` and `gen rollback` driven as a user runs them
//! (the real binary, a kubeconfig file, the real `kube` client) against a
//! real control plane: etcd, kube-apiserver (RBAC, Pod Security admission,
//! an audit log of every request) and kube-controller-manager, built from
//! their Go modules (`tests/cluster/`, `scripts/testcluster.sh`). What is
//! not real: no kubelet (a node agent marks pods Ready), no scheduler, no
//! network between pods.
//!
//! Tests share one control plane per test binary; each gets its own project
//! and namespace (`shopN`) and its own user (a client certificate), so the
//! audit log tells which requests a test's gen runs sent.

mod cluster;
mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cluster::TestCluster;
use serde_json::{json, Value};

const PART_OF: &str = "applyset.kubernetes.io/part-of";

fn cluster() -> &'static TestCluster {
    TestCluster::shared()
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A temporary workspace: the strategies example catalog moved to project
/// and namespace `shopN`, and a kubeconfig with contexts `test` (the control
/// plane, as user `tester-shopN`) and `dead` (a closed port).
struct Workspace {
    dir: tempfile::TempDir,
    ns: String,
    user: String,
}

impl Workspace {
    fn new() -> Workspace {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let ns = format!("shop{n}");
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog =
            std::fs::read_to_string(common::root().join("examples/strategies/catalog.yaml"))
                .expect("example catalog")
                .replacen("project: shop\n", &format!("project: {ns}\n"), 1)
                .replacen("namespace: shop\n", &format!("namespace: {ns}\n"), 1);
        std::fs::write(dir.path().join("catalog.yaml"), catalog).expect("write catalog");
        let user = format!("tester-{ns}");
        cluster().user_kubeconfig(&user, &["system:masters"], &dir.path().join("kubeconfig"));
        Workspace { dir, ns, user }
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

    /// `gen ARGS` that must exit 0.
    fn ok(&self, args: &[&str]) -> (String, String) {
        let o = self.gen(args);
        let (stdout, stderr) = out(&o);
        assert_eq!(code(&o), 0, "gen {args:?}:\n{stdout}\n{stderr}");
        (stdout, stderr)
    }

    /// `gen apply ARGS --wait` that must exit 0 within two minutes.
    fn rolled_out(&self, args: &[&str]) -> (String, String) {
        let mut all = vec!["apply"];
        all.extend_from_slice(args);
        all.extend(["--wait", "--timeout", "120s"]);
        self.ok(&all)
    }

    /// The requests this workspace's gen runs sent, as the audit log has them.
    fn requests(&self) -> Vec<Value> {
        cluster().requests_of(&self.user)
    }

    fn get(&self, kind: &str, name: &str) -> Option<Value> {
        cluster().get(kind, Some(&self.ns), name)
    }

    fn deployment(&self, name: &str) -> Value {
        self.get("deployment", name)
            .unwrap_or_else(|| panic!("deployment {name} exists in {}", self.ns))
    }

    /// The image of the `catalog` Deployment's container.
    fn catalog_image(&self) -> String {
        self.deployment("catalog")["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Each object of the namespace (and the namespace itself) with what
    /// gen's field manager last wrote: equal before and after a run that
    /// changed nothing of gen's.
    fn gen_writes(&self) -> Vec<String> {
        let mut v = Vec::new();
        let ns = cluster()
            .get("namespace", None, &self.ns)
            .expect("namespace");
        let mut objects = vec![ns];
        for kind in [
            "serviceaccounts",
            "configmaps",
            "services",
            "deployments",
            "horizontalpodautoscalers",
            "poddisruptionbudgets",
            "networkpolicies",
            "ingresses",
        ] {
            objects.extend(cluster().list(kind, &self.ns));
        }
        for o in objects {
            for m in o["metadata"]["managedFields"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if m["manager"] == "gen" {
                    v.push(format!(
                        "{}/{} gen {} {}",
                        o["kind"].as_str().unwrap_or("?"),
                        o["metadata"]["name"].as_str().unwrap_or("?"),
                        m["time"],
                        m["fieldsV1"]
                    ));
                }
            }
        }
        v.sort();
        v
    }
}

fn out(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `text` without whitespace and miette's frame: wrapped messages compare
/// as written.
fn packed(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

/// The query parameter `name` of an audit event's request URI.
fn param<'a>(e: &'a Value, name: &str) -> Option<&'a str> {
    let uri = e["requestURI"].as_str()?;
    let query = uri.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Kind/name` of an audit event's object.
fn what(e: &Value) -> String {
    format!(
        "{}/{}",
        e["objectRef"]["resource"].as_str().unwrap_or("?"),
        e["objectRef"]["name"].as_str().unwrap_or("?")
    )
}

fn resource_rank(resource: &str) -> u8 {
    match resource {
        "namespaces" => 0,
        "serviceaccounts" | "configmaps" | "services" | "networkpolicies" => 1,
        "deployments" => 2,
        "horizontalpodautoscalers" | "poddisruptionbudgets" | "ingresses" => 3,
        other => panic!("unexpected resource {other}"),
    }
}

/// The server-side applies among `events` (PATCH of an object, not a
/// subresource).
fn applies(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["verb"] == "patch" && e["objectRef"]["subresource"].is_null())
        .collect()
}

#[test]
fn first_apply_creates_in_dependency_order_and_the_second_changes_nothing() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    let (stdout, stderr) = ws.rolled_out(&["--context", "test"]);
    assert!(stderr.contains("applying to context test"), "{stderr}");
    assert!(
        stdout.contains(&format!("namespace/{ns}  ")) && stdout.contains("created"),
        "{stdout}"
    );

    let reqs = ws.requests();
    // The first request is discovery, before any object is touched.
    let first = reqs[0]["requestURI"].as_str().unwrap_or_default();
    assert!(
        first.starts_with("/api") && reqs[0]["objectRef"].is_null(),
        "first request: {first}"
    );
    assert_eq!(
        reqs[0]["userAgent"].as_str().map(|a| a.starts_with("gen/")),
        Some(true)
    );
    let patches = applies(&reqs);
    // The Namespace, then the ApplySet parent in it (so an interrupted run
    // can still be pruned), then every member in dependency order.
    assert_eq!(what(patches[0]), format!("namespaces/{ns}"));
    assert_eq!(what(patches[1]), format!("configmaps/gen-applyset-{ns}"));
    let members = &patches[2..];
    let ranks: Vec<u8> = members
        .iter()
        .map(|e| resource_rank(e["objectRef"]["resource"].as_str().unwrap_or("?")))
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]) && ranks[0] >= 1,
        "apply order: {:?}",
        members.iter().map(|e| what(e)).collect::<Vec<_>>()
    );
    assert!(members.len() >= 15, "{} objects applied", members.len());
    for e in &patches {
        if param(e, "fieldManager") == Some("gen-hpa-handover") {
            // The autoscaled Deployment's replicas, held for its HPA.
            assert_eq!(what(e), "deployments/search", "{}", e["requestURI"]);
            assert_eq!(
                e["requestObject"]["spec"],
                json!({"replicas": 2}),
                "{}",
                e["requestURI"]
            );
            continue;
        }
        assert_eq!(param(e, "fieldManager"), Some("gen"), "{}", e["requestURI"]);
        assert_eq!(param(e, "dryRun"), None, "{}", e["requestURI"]);
        assert_eq!(param(e, "force"), None, "{}", e["requestURI"]);
        let status = e["responseStatus"]["code"].as_u64();
        assert!(status == Some(200) || status == Some(201), "{e}");
    }

    // Every member carries the ownership labels.
    let api = ws.deployment("catalog");
    let labels = &api["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "gen");
    assert!(
        labels[PART_OF]
            .as_str()
            .is_some_and(|id| id.starts_with("applyset-")),
        "{labels}"
    );
    let parent = cluster()
        .get("configmap", Some(&ns), &format!("gen-applyset-{ns}"))
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
    // The real controllers rolled every Deployment out.
    for d in cluster().list("deployments", &ns) {
        let want = d["spec"]["replicas"].as_i64().unwrap_or(-1);
        assert_eq!(d["status"]["availableReplicas"].as_i64(), Some(want), "{d}");
    }

    // Idempotent: the second run reports everything unchanged, and the
    // server recorded no write by gen.
    let before = ws.gen_writes();
    assert!(before.len() >= 15, "{before:?}");
    let (stdout, _) = ws.ok(&["apply", "--context", "test"]);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(" unchanged") && !last.contains(','),
        "totals: {last}\n{stdout}"
    );
    assert!(
        !stdout.contains("created") && !stdout.contains("configured"),
        "{stdout}"
    );
    assert_eq!(before, ws.gen_writes());
}

#[test]
fn dry_run_sends_dry_run_all_and_changes_nothing() {
    let ws = Workspace::new();
    let (stdout, _) = ws.ok(&["apply", "--context", "test", "--dry-run"]);
    assert!(
        stdout.contains("dry run, would be: ") && stdout.contains("created"),
        "{stdout}"
    );
    let reqs = ws.requests();
    let patches = applies(&reqs);
    assert!(!patches.is_empty());
    for e in &patches {
        assert_eq!(param(e, "dryRun"), Some("All"), "{}", e["requestURI"]);
    }
    assert!(
        reqs.iter()
            .all(|e| ["get", "list", "patch"].contains(&e["verb"].as_str().unwrap_or(""))),
        "only reads and dry runs: {:?}",
        reqs.iter().map(|e| e["verb"].clone()).collect::<Vec<_>>()
    );
    assert!(
        cluster().get("namespace", None, &ws.ns).is_none(),
        "the dry run created the namespace"
    );

    // After a real apply, a dry run of a change says `configured` for exactly
    // the changed object and leaves the cluster as it was.
    ws.rolled_out(&["--context", "test"]);
    ws.edit("replicas: 4", "replicas: 6");
    let before = ws.gen_writes();
    let (stdout, _) = ws.ok(&["apply", "--context", "test", "--dry-run"]);
    let configured: Vec<&str> = stdout
        .lines()
        .filter(|l| l.ends_with("configured"))
        .collect();
    assert_eq!(configured.len(), 1, "{stdout}");
    assert!(
        configured[0].starts_with(&format!("deployment/catalog -n {}", ws.ns)),
        "{stdout}"
    );
    assert_eq!(before, ws.gen_writes());
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 4);
}

#[test]
fn prune_deletes_only_objects_of_the_projects_applyset() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.ok(&["apply", "--context", "test"]);
    let id = ws.deployment("catalog")["metadata"]["labels"][PART_OF].clone();
    // Neighbours gen must never delete: no label, and another set's label.
    cluster().kubectl_ok(&[
        "create",
        "deployment",
        "hand-made",
        "-n",
        &ns,
        "--image=nginx:1.27",
    ]);
    cluster().kubectl_ok(&[
        "create",
        "deployment",
        "other-set",
        "-n",
        &ns,
        "--image=nginx:1.27",
    ]);
    cluster().kubectl_ok(&[
        "label",
        "deployment",
        "other-set",
        "-n",
        &ns,
        "applyset.kubernetes.io/part-of=applyset-someone-else-v1",
    ]);
    assert!(
        ws.get("deployment", "other-set").unwrap()["metadata"]["labels"][PART_OF]
            == "applyset-someone-else-v1"
    );

    // `search` leaves the catalog.
    let catalog = std::fs::read_to_string(ws.path("catalog.yaml")).expect("read");
    let cut = catalog.find("\n  search:").expect("search service");
    std::fs::write(ws.path("catalog.yaml"), &catalog[..cut + 1]).expect("write");

    // Without --prune nothing is deleted.
    let before = ws.requests().len();
    ws.ok(&["apply", "--context", "test"]);
    assert!(ws.get("deployment", "search").is_some());
    assert!(ws.requests()[before..]
        .iter()
        .all(|e| e["verb"] != "delete"));

    // A dry run lists the deletions and deletes nothing.
    let before = ws.requests().len();
    let (stdout, _) = ws.ok(&["apply", "--context", "test", "--prune", "--dry-run"]);
    assert!(
        stdout.contains(&format!("deployment/search -n {ns}")) && stdout.contains("pruned"),
        "{stdout}"
    );
    let reqs = ws.requests();
    let deletes: Vec<&Value> = reqs[before..]
        .iter()
        .filter(|e| e["verb"] == "delete")
        .collect();
    assert!(!deletes.is_empty());
    for e in &deletes {
        assert_eq!(e["requestObject"]["dryRun"], json!(["All"]), "{e}");
    }
    assert!(ws.get("deployment", "search").is_some());

    let before = ws.requests().len();
    let (stdout, _) = ws.ok(&["apply", "--context", "test", "--prune"]);
    let pruned: Vec<&str> = stdout.lines().filter(|l| l.ends_with("  pruned")).collect();
    for (kind, name) in [
        ("deployment", "search"),
        ("deployment", "search-canary"),
        ("service", "search"),
        ("horizontalpodautoscaler", "search"),
    ] {
        let gone = format!("{kind}/{name} -n {ns}");
        assert!(
            pruned.iter().any(|l| l.starts_with(&gone)),
            "{gone} not pruned:\n{stdout}"
        );
        assert!(ws.get(kind, name).is_none(), "{gone} still there");
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
    // Every deletion the server saw was of this project's `search` objects.
    for e in ws.requests()[before..]
        .iter()
        .filter(|e| e["verb"] == "delete")
    {
        assert!(what(e).contains("search"), "deleted {}", what(e));
    }
    for name in ["hand-made", "other-set", "catalog"] {
        assert!(ws.get("deployment", name).is_some(), "{name} was deleted");
    }
    assert!(cluster().get("namespace", None, &ns).is_some());
    assert_eq!(ws.deployment("catalog")["metadata"]["labels"][PART_OF], id);
}

#[test]
fn a_field_owned_by_another_manager_is_a_conflict_named_per_field() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.ok(&["apply", "--context", "test"]);
    // Someone scales by hand: kubectl scale writes replicas through the
    // scale subresource as its own field manager.
    cluster().kubectl_ok(&["scale", "deployment/catalog", "-n", &ns, "--replicas=7"]);
    // The catalog now asks for 5: the replicas field is contested.
    ws.edit("replicas: 4", "replicas: 5");
    let o = ws.gen(&["apply", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("conflict: deployment/catalog -n {ns}")),
        "{stderr}"
    );
    assert!(stderr.contains(".spec.replicas"), "{stderr}");
    assert!(stderr.contains("kubectl"), "{stderr}");
    assert!(stderr.contains("--force-conflicts"), "{stderr}");
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 7);

    let before = ws.requests().len();
    let (stdout, _) = ws.ok(&["apply", "--context", "test", "--force-conflicts"]);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&format!("deployment/catalog -n {ns}"))
                && l.ends_with("configured")),
        "{stdout}"
    );
    let reqs = ws.requests();
    assert!(applies(&reqs[before..])
        .iter()
        .any(|e| param(e, "force") == Some("true")));
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 5);
}

/// A TCP port that accepts connections and never says a word.
fn silent_server() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

/// A TCP port that answers every connection with bytes that are not HTTP
/// (nor TLS), then closes it.
fn garbage_server() -> u16 {
    use std::io::Write as _;
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(b"\x00\x01garbage, not a protocol\r\n\r\n");
        }
    });
    port
}

#[test]
fn an_unreachable_or_broken_server_fails_fast_naming_context_and_server() {
    let ws = Workspace::new();
    // Nothing listens on port 9.
    let o = ws.gen(&["apply", "--context", "dead"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 3, "{stderr}");
    assert!(
        stderr.contains("context `dead`") && stderr.contains("127.0.0.1:9"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // A server that never answers, and one that answers garbage: the request
    // bound holds and the error names the context.
    for port in [silent_server(), garbage_server()] {
        let kc = ws.path("kubeconfig");
        let text = std::fs::read_to_string(&kc).expect("kubeconfig");
        let other = text.replace(
            "https://127.0.0.1:9'",
            &format!("https://127.0.0.1:{port}'"),
        );
        std::fs::write(ws.path("kubeconfig-other"), other).expect("write");
        let start = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_gen"))
            .args([
                "diff",
                "--context",
                "dead",
                "--request-timeout",
                "1s",
                "--kubeconfig",
            ])
            .arg(ws.path("kubeconfig-other"))
            .current_dir(ws.dir.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("run gen");
        let took = start.elapsed();
        let (_, stderr) = out(&o);
        assert_eq!(code(&o), 3, "{stderr}");
        assert!(
            stderr.contains("cannot reach the API server of context `dead`"),
            "{stderr}"
        );
        assert!(stderr.contains(&port.to_string()), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(took < Duration::from_secs(15), "took {took:?}");
    }
}

#[test]
fn missing_context_kubeconfig_or_credentials_are_clear_errors() {
    let ws = Workspace::new();
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

    // A token the real server does not know: 401, and the token is not shown.
    let kc = std::fs::read_to_string(ws.path("kubeconfig")).expect("kubeconfig");
    let users = kc.find("users:").expect("users");
    let contexts = kc.find("contexts:").expect("contexts");
    let stale = format!(
        "{}users:\n- name: {}\n  user: {{token: stale-token-0123456789}}\n{}",
        &kc[..users],
        ws.user,
        &kc[contexts..]
    );
    std::fs::write(ws.path("kubeconfig"), stale).expect("write");
    let o = ws.gen(&["apply", "--context", "test"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 3, "{stderr}");
    assert!(
        stderr.contains("rejected the credentials") && stderr.contains("context `test`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("stale-token-0123456789"),
        "the token leaked: {stderr}"
    );
    assert!(cluster().get("namespace", None, &ws.ns).is_none());
}

#[test]
fn lint_errors_stop_apply_before_any_request() {
    let ws = Workspace::new();
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
    assert!(ws.requests().is_empty(), "{:?}", ws.requests());
}

#[test]
fn wait_follows_rollouts_and_explains_a_failed_one() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    let before = ws.requests().len();
    let (_, stderr) = ws.rolled_out(&["--context", "test"]);
    assert!(
        stderr.contains(&format!(
            "deployment/catalog -n {ns}: successfully rolled out"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("every deployment and statefulset rolled out"),
        "{stderr}"
    );
    let watched = ws.requests()[before..]
        .iter()
        .filter(|e| e["verb"] == "watch")
        .count();
    assert!(watched >= 4, "{watched} watches");

    // A new image that cannot be pulled: the rollout cannot finish.
    cluster().fail_image("ghcr.io/shop/catalog:4.0.3-bad0000");
    ws.edit("catalog:4.0.2-aa11bb2", "catalog:4.0.3-bad0000");
    let o = ws.gen(&["apply", "--context", "test", "--wait", "--timeout", "15s"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("deployment/catalog -n {ns}")),
        "{stderr}"
    );
    assert!(stderr.contains("ImagePullBackOff"), "{stderr}");
    // The help is wrapped to the terminal width: compare it without spaces.
    let packed = packed(&stderr);
    assert!(
        packed.contains("Failedtopullimage\"ghcr.io/shop/catalog:4.0.3-bad0000\""),
        "{stderr}"
    );
    assert!(
        packed.contains("genrollbackcatalog--contexttest"),
        "{stderr}"
    );
    // maxUnavailable 0: the old pods still serve.
    let d = ws.deployment("catalog");
    assert_eq!(d["status"]["availableReplicas"], 4, "{d}");
}

#[test]
fn diff_is_a_drift_check() {
    let ws = Workspace::new();
    // Nothing applied yet: everything is drift.
    let o = ws.gen(&["diff", "--context", "test"]);
    assert_eq!(code(&o), 1, "{:?}", out(&o));
    assert!(
        cluster().get("namespace", None, &ws.ns).is_none(),
        "diff changed the cluster"
    );

    ws.rolled_out(&["--context", "test"]);
    let (stdout, stderr) = ws.ok(&["diff", "--context", "test"]);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no drift"), "{stderr}");

    ws.edit("replicas: 4", "replicas: 6");
    let o = ws.gen(&["diff", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("--- live: deployment/catalog -n {}", ws.ns)),
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
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 4);
}

#[test]
fn rollback_reapplies_the_previous_template_or_switches_the_colour() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.rolled_out(&["--context", "test"]);
    ws.edit("catalog:4.0.2-aa11bb2", "catalog:4.1.0-ff00ee1");
    ws.rolled_out(&["--context", "test"]);
    assert_eq!(ws.catalog_image(), "ghcr.io/shop/catalog:4.1.0-ff00ee1");

    let (stdout, _) = ws.ok(&["rollback", "catalog", "--context", "test"]);
    assert!(
        stdout.contains(&format!(
            "deployment/catalog -n {ns}: rolled back from revision 2 to revision 1"
        )),
        "{stdout}"
    );
    assert_eq!(ws.catalog_image(), "ghcr.io/shop/catalog:4.0.2-aa11bb2");
    let labels = &ws.deployment("catalog")["spec"]["template"]["metadata"]["labels"];
    assert!(labels.get("pod-template-hash").is_none(), "{labels}");
    // The real controller agrees: revision 1's ReplicaSet is revived as
    // revision 3.
    let revived = cluster().eventually("the revived ReplicaSet", Duration::from_secs(30), || {
        cluster().list("replicasets", &ns).into_iter().find(|rs| {
            rs["spec"]["template"]["spec"]["containers"][0]["image"]
                == "ghcr.io/shop/catalog:4.0.2-aa11bb2"
                && rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        })
    });
    assert!(revived["metadata"]["name"].as_str().is_some());

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
    let colour = || {
        ws.get("service", "checkout").expect("service")["spec"]["selector"]["gen.dev/track"].clone()
    };
    assert_eq!(colour(), "green");
    let (stdout, _) = ws.ok(&["rollback", "checkout", "--context", "test"]);
    assert!(
        stdout.contains(&format!(
            "service/checkout -n {ns}: rolled back from green to blue"
        )),
        "{stdout}"
    );
    assert_eq!(colour(), "blue");

    let o = ws.gen(&["rollback", "chekout", "--context", "test"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stderr}");
    assert!(stderr.contains("did you mean `checkout`?"), "{stderr}");
}

/// The workspace's catalog with two environments on its contexts:
/// `staging` on `dead` and a protected `prod` on `test`.
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
    let ws = Workspace::new();
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
        cluster().get("namespace", None, &ws.ns).is_none(),
        "a refused apply changed the cluster"
    );
    assert!(applies(&ws.requests())
        .iter()
        .all(|e| param(e, "dryRun") == Some("All")));

    // --yes applies prod's render: 6 replicas, not the base 4.
    ws.ok(&["apply", "--env", "prod", "--yes"]);
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 6);

    // Nothing to change: no confirmation needed.
    ws.ok(&["apply", "--context", "test"]);

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
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 6);
    let o = answer("y\n");
    let (stdout, _) = out(&o);
    assert!(stdout.contains("configured"), "{stdout}");
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 7);
}

#[test]
fn the_environment_picks_overrides_and_context() {
    let ws = Workspace::new();
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
        cluster().get("namespace", None, &ws.ns).is_none(),
        "a refused apply changed the cluster"
    );
    let (_, stderr) = ws.ok(&["apply", "--env", "staging", "--context", "test", "--yes"]);
    assert!(stderr.contains("environment staging"), "{stderr}");
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 2);
    let o = ws.gen(&["diff", "--env", "stagign"]);
    let (_, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stderr}");
    assert!(stderr.contains("staging"), "{stderr}");
}

#[test]
fn a_context_of_no_environment_is_refused_when_the_catalog_has_environments() {
    let ws = Workspace::new();
    with_environments(&ws);
    // A second name for a cluster (or a typo) must not get the defaults
    // and slip past prod's protection: gen asks which environment.
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
    assert!(
        ws.requests().is_empty(),
        "a refused command reached the server"
    );
}

#[test]
fn rollback_on_a_protected_context_needs_yes() {
    let ws = Workspace::new();
    with_environments(&ws);
    ws.rolled_out(&["--env", "prod", "--yes"]);
    ws.edit("catalog:4.0.2-aa11bb2", "catalog:4.1.0-ff00ee1");
    ws.rolled_out(&["--env", "prod", "--yes"]);
    assert_eq!(ws.catalog_image(), "ghcr.io/shop/catalog:4.1.0-ff00ee1");

    // No terminal, no --yes: refused, nothing changed.
    let o = ws.gen(&["rollback", "catalog", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("context `test` is protected (environment `prod`)"),
        "{stderr}"
    );
    assert_eq!(ws.catalog_image(), "ghcr.io/shop/catalog:4.1.0-ff00ee1");

    ws.ok(&["rollback", "catalog", "--env", "prod", "--yes"]);
    assert_eq!(ws.catalog_image(), "ghcr.io/shop/catalog:4.0.2-aa11bb2");
}

#[test]
fn rollback_of_a_canary_service_aborts_the_canary() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.rolled_out(&["--context", "test"]);
    let weight = || {
        ws.get("ingress", "search-canary").expect("canary ingress")["metadata"]["annotations"]
            ["nginx.ingress.kubernetes.io/canary-weight"]
            .clone()
    };
    assert_eq!(weight(), "20");
    let stable_before = ws.deployment("search")["spec"].clone();
    assert_eq!(ws.deployment("search-canary")["spec"]["replicas"], 1);

    let (stdout, _) = ws.ok(&["rollback", "search", "--context", "test"]);
    assert!(
        stdout.contains(&format!(
            "canary of service/search -n {ns}: rolled back from 20% of requests to 0% of requests, deployment/search-canary scaled to 0"
        )),
        "{stdout}"
    );
    assert_eq!(weight(), "0");
    assert_eq!(ws.deployment("search-canary")["spec"]["replicas"], 0);
    assert_eq!(
        ws.deployment("search")["spec"],
        stable_before,
        "the stable Deployment was touched"
    );
    // gen still owns both fields: the next apply restores the catalog's canary.
    ws.ok(&["apply", "--context", "test"]);
    assert_eq!(weight(), "20");
    assert_eq!(ws.deployment("search-canary")["spec"]["replicas"], 1);
}

/// The `Scaled down` events of `deployment` the real controller recorded.
fn scale_downs(ws: &Workspace, deployment: &str) -> Vec<String> {
    cluster()
        .list("events", &ws.ns)
        .iter()
        .filter(|e| e["involvedObject"]["name"] == deployment && e["reason"] == "ScalingReplicaSet")
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.starts_with("Scaled down"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn turning_autoscaling_on_hands_the_replicas_to_the_hpa_without_a_dip() {
    let ws = Workspace::new();
    ws.rolled_out(&["--context", "test"]);
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 4);
    // gen stops setting replicas: the server would reset a field nobody
    // owns to its default, 1, and kill 3 pods until the HPA syncs.
    ws.edit("    replicas: 4\n", "    hpa: {min: 3, max: 8, cpu: 70}\n");
    let (stdout, _) = ws.ok(&["apply", "--context", "test"]);
    assert!(
        stdout.contains(
            "autoscaling turned on: spec.replicas (4) handed to the HorizontalPodAutoscaler"
        ),
        "{stdout}"
    );
    assert_eq!(ws.deployment("catalog")["spec"]["replicas"], 4);
    // Give the HPA controller (1 s sync) and the Deployment controller time
    // to act, then look at what they did.
    std::thread::sleep(Duration::from_secs(4));
    let d = ws.deployment("catalog");
    assert_eq!(d["spec"]["replicas"], 4, "{d}");
    assert_eq!(scale_downs(&ws, "catalog"), Vec::<String>::new());
    let owners: Vec<String> = d["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| !m["fieldsV1"]["f:spec"]["f:replicas"].is_null())
        .map(|m| m["manager"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(!owners.contains(&"gen".to_owned()), "{owners:?}");
    // The next apply leaves the replicas to the HPA: unchanged.
    let (stdout, _) = ws.ok(&["apply", "--context", "test"]);
    assert!(!stdout.contains("configured"), "{stdout}");
    // A new autoscaled Deployment starts at the HPA's minimum, never at 1.
    let search = ws.deployment("search");
    assert_eq!(search["spec"]["replicas"], 2, "{search}");
}

#[test]
fn turning_autoscaling_off_takes_the_replicas_back_and_removes_the_hpa() {
    let ws = Workspace::new();
    ws.rolled_out(&["--context", "test"]);
    // The HPA controller scales `search` up: from then on it owns the
    // replicas (through the scale subresource).
    ws.edit(
        "hpa: {min: 2, max: 8, cpu: 75}",
        "hpa: {min: 3, max: 8, cpu: 75}",
    );
    ws.ok(&["apply", "--context", "test"]);
    cluster().eventually(
        "the HPA to scale search to 3",
        Duration::from_secs(60),
        || (ws.deployment("search")["spec"]["replicas"] == 3).then_some(()),
    );
    let d = ws.deployment("search");
    assert!(
        d["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|m| m["manager"] == "kube-controller-manager"
                && !m["fieldsV1"]["f:spec"]["f:replicas"].is_null()),
        "{d}"
    );
    // Autoscaling off, a fixed size: no conflict, no --prune needed.
    ws.edit("hpa: {min: 3, max: 8, cpu: 75}", "replicas: 5");
    let o = ws.gen(&["apply", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("horizontalpodautoscaler/search -n {}", ws.ns))
            && stdout.contains("autoscaling of deployment/search turned off"),
        "{stdout}"
    );
    assert!(
        stdout.contains("autoscaling turned off: took .spec.replicas over"),
        "{stdout}"
    );
    assert!(ws.get("horizontalpodautoscaler", "search").is_none());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(ws.deployment("search")["spec"]["replicas"], 5);
    let (stdout, _) = ws.ok(&["apply", "--context", "test"]);
    assert!(!stdout.contains("configured"), "{stdout}");
}

#[test]
fn rollback_refuses_a_paused_deployment_and_a_colour_not_rolled_out() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.rolled_out(&["--context", "test"]);
    ws.edit("catalog:4.0.2-aa11bb2", "catalog:4.1.0-ff00ee1");
    ws.rolled_out(&["--context", "test"]);
    cluster().kubectl_ok(&["rollout", "pause", "deployment/catalog", "-n", &ns]);
    let o = ws.gen(&["rollback", "catalog", "--context", "test"]);
    let (_, stderr) = out(&o);
    assert_ne!(code(&o), 0, "{stderr}");
    assert!(stderr.contains("it is paused"), "{stderr}");
    assert!(
        stderr.contains("kubectl rollout resume deployment/catalog"),
        "{stderr}"
    );
    assert_eq!(ws.catalog_image(), "ghcr.io/shop/catalog:4.1.0-ff00ee1");

    // The blue colour gets an image that cannot be pulled: its old pods
    // still run (maxUnavailable 0), so it has available pods, but it is not
    // what the catalog says. The switch must refuse it.
    let bad = format!("ghcr.io/shop/checkout:2.2.9-{ns}");
    cluster().fail_image(&bad);
    ws.edit(
        "blue_image: ghcr.io/shop/checkout:2.2.9-ee55ff6",
        &format!("blue_image: {bad}"),
    );
    ws.ok(&["apply", "--context", "test"]);
    cluster().eventually("a stuck new blue pod", Duration::from_secs(30), || {
        let d = ws.deployment("checkout-blue");
        (d["status"]["updatedReplicas"].as_i64() >= Some(1)
            && d["status"]["availableReplicas"].as_i64() >= Some(1))
        .then_some(())
    });
    let o = ws.gen(&["rollback", "checkout", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_ne!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("deployment/checkout-blue cannot take the traffic"),
        "{stderr}"
    );
    assert_eq!(
        ws.get("service", "checkout").expect("service")["spec"]["selector"]["gen.dev/track"],
        "green"
    );
}

#[test]
fn another_tools_applyset_parent_is_refused_and_unknown_member_kinds_are_kept() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    let parent = format!("gen-applyset-{ns}");
    // Someone else's ConfigMap of the parent's name.
    cluster().kubectl_ok(&["create", "namespace", &ns]);
    cluster().kubectl_ok(&["create", "configmap", &parent, "-n", &ns]);
    cluster().kubectl_ok(&[
        "annotate",
        "configmap",
        &parent,
        "-n",
        &ns,
        "applyset.kubernetes.io/tooling=kubectl/v1.37.2",
    ]);
    let o = ws.gen(&["apply", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_ne!(code(&o), 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("another tool manages it"), "{stderr}");
    assert!(ws.get("deployment", "catalog").is_none());
    cluster().kubectl_ok(&["delete", "configmap", &parent, "-n", &ns]);

    ws.ok(&["apply", "--context", "test"]);
    // A kind gen does not know, recorded by a tool that does: kept.
    let key = "applyset.kubernetes.io/contains-group-kinds";
    let live = cluster()
        .get("configmap", Some(&ns), &parent)
        .expect("parent");
    let kinds = live["metadata"]["annotations"][key]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        !kinds.contains("Namespace"),
        "Namespaces are not members: {kinds}"
    );
    cluster().kubectl_ok(&[
        "annotate",
        "--overwrite",
        "configmap",
        &parent,
        "-n",
        &ns,
        &format!("{key}={kinds},Widget.example.com"),
    ]);
    ws.ok(&["apply", "--context", "test", "--prune"]);
    let live = cluster()
        .get("configmap", Some(&ns), &parent)
        .expect("parent");
    assert!(
        live["metadata"]["annotations"][key]
            .as_str()
            .is_some_and(|k| k.contains("Widget.example.com") && k.contains("Deployment.apps")),
        "{live}"
    );
    // The Namespace carries no membership label: never a prune candidate.
    let nsobj = cluster().get("namespace", None, &ns).expect("namespace");
    assert!(nsobj["metadata"]["labels"][PART_OF].is_null(), "{nsobj}");
}

#[test]
fn a_terminating_namespace_and_an_immutable_field_get_their_own_help() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    // An immutable field: a Deployment of the same name with another
    // selector, taken over with --force-conflicts.
    cluster().kubectl_ok(&["create", "namespace", &ns]);
    cluster().kubectl_ok(&[
        "create",
        "deployment",
        "catalog",
        "-n",
        &ns,
        "--image=nginx:1.27",
    ]);
    let o = ws.gen(&["apply", "--context", "test", "--force-conflicts"]);
    let (stdout, stderr) = out(&o);
    assert_ne!(code(&o), 0, "{stdout}\n{stderr}");
    let flat = packed(&stderr);
    assert!(flat.contains("fieldisimmutable"), "{stderr}");
    assert!(
        flat.contains("theserverkeepsthatfieldasitwascreated"),
        "{stderr}"
    );
    assert!(!flat.contains("genbug"), "{stderr}");

    // A namespace being deleted (held by a finalizer) refuses new objects.
    cluster().kubectl_ok(&["delete", "deployment", "catalog", "-n", &ns]);
    cluster().kubectl_ok(&["create", "configmap", "hold", "-n", &ns]);
    cluster().kubectl_ok(&[
        "patch",
        "configmap",
        "hold",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["gen.dev/test-hold"]}}"#,
    ]);
    cluster().kubectl_ok(&["delete", "namespace", &ns, "--wait=false"]);
    let o = ws.gen(&["apply", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_ne!(code(&o), 0, "{stdout}\n{stderr}");
    let flat = packed(&stderr);
    assert!(flat.contains("beingterminated"), "{stderr}");
    assert!(flat.contains("thenamespaceisbeingdeleted"), "{stderr}");
    assert!(!flat.contains("RBAC"), "{stderr}");
    cluster().kubectl_ok(&[
        "patch",
        "configmap",
        "hold",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
}

#[test]
fn kubectl_reads_gens_applyset_but_does_not_take_it_over() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.ok(&["apply", "--context", "test"]);
    let parent = cluster()
        .get("configmap", Some(&ns), &format!("gen-applyset-{ns}"))
        .expect("parent");
    let id = parent["metadata"]["labels"]["applyset.kubernetes.io/id"]
        .as_str()
        .expect("id")
        .to_owned();
    // Reading the set: the standard label selects exactly gen's members.
    let listed = cluster().kubectl_ok(&[
        "get",
        "deployments,services,horizontalpodautoscalers",
        "-n",
        &ns,
        "-l",
        &format!("{PART_OF}={id}"),
        "-o",
        "name",
    ]);
    let mut names: Vec<&str> = listed.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "deployment.apps/catalog",
            "deployment.apps/checkout-blue",
            "deployment.apps/checkout-green",
            "deployment.apps/search",
            "deployment.apps/search-canary",
            "horizontalpodautoscaler.autoscaling/search",
            "service/catalog",
            "service/checkout",
            "service/search",
            "service/search-canary",
        ]
    );
    // Writing it: kubectl's own ApplySet mode refuses a parent another
    // tool manages, so `kubectl apply --prune --applyset` cannot prune gen's
    // objects by mistake.
    let dir = tempfile::tempdir().expect("tempdir");
    let cm = dir.path().join("cm.yaml");
    std::fs::write(
        &cm,
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: extra, namespace: {ns}}}\n"),
    )
    .expect("write");
    let o = Command::new(cluster::tool("kubectl"))
        .arg("--kubeconfig")
        .arg(&cluster().kubeconfig)
        .args(["apply", "--server-side", "--prune", "-n", &ns])
        .arg(format!("--applyset=configmap/gen-applyset-{ns}"))
        .arg("-f")
        .arg(&cm)
        .env("KUBECTL_APPLYSET", "true")
        .output()
        .expect("kubectl");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "kubectl took gen's set over: {o:?}");
    assert!(stderr.contains("managed by tooling \"gen\""), "{stderr}");
    assert!(ws.get("configmap", "extra").is_none());
    assert!(ws.get("deployment", "catalog").is_some());
}

#[test]
fn a_second_catalog_with_the_same_project_is_refused_until_it_replaces_the_set() {
    let ws = Workspace::new();
    ws.ok(&["apply", "--context", "test"]);
    // Another team's catalog that happens to use the same project name (and
    // so the same ApplySet): none of the set's objects is in it.
    let ns = ws.ns.clone();
    let other = format!(
        "version: 1\nproject: {ns}\ndefaults:\n  namespace: {ns}\n  resources: {{cpu: 100m, memory: 128Mi}}\n  probes: {{readiness: /ready, liveness: /live}}\nservices:\n  cart:\n    image: ghcr.io/shop/cart:1.0.0-abc1234\n    port: 8080\n"
    );
    std::fs::write(ws.path("other.yaml"), other).expect("write other catalog");
    let before = ws.requests().len();
    for args in [
        &["apply", "other.yaml", "--context", "test"][..],
        &["apply", "other.yaml", "--context", "test", "--dry-run"],
        &["apply", "other.yaml", "--context", "test", "--prune"],
        &["diff", "other.yaml", "--context", "test"],
    ] {
        let o = ws.gen(args);
        let (stdout, stderr) = out(&o);
        assert_eq!(code(&o), 2, "gen {args:?}:\n{stdout}\n{stderr}");
        let text = packed(&stderr);
        for want in [
            &format!("configmap/gen-applyset-{ns}"),
            "none of them in this catalog",
            &format!("project name `{ns}`"),
            "--replace-set",
        ] {
            assert!(
                text.contains(&packed(want)),
                "gen {args:?}: no `{want}` in:\n{stderr}"
            );
        }
    }
    // Refused before any write: only reads were sent.
    let writes: Vec<String> = ws.requests()[before..]
        .iter()
        .filter(|e| !matches!(e["verb"].as_str(), Some("get" | "list" | "watch")))
        .map(what)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(ws.get("deployment", "cart").is_none());
    assert!(ws.get("deployment", "catalog").is_some());

    // The first catalog itself changed (a service renamed): still its set.
    ws.edit("  search:\n", "  finder:\n");
    ws.ok(&["apply", "--context", "test", "--prune"]);
    assert!(ws.get("deployment", "search").is_none());
    assert!(ws.get("deployment", "finder").is_some());

    // A catalog that really replaces everything says so.
    let (stdout, _) = ws.ok(&[
        "apply",
        "other.yaml",
        "--context",
        "test",
        "--replace-set",
        "--prune",
    ]);
    assert!(stdout.contains("pruned"), "{stdout}");
    assert!(ws.get("deployment", "cart").is_some());
    assert!(ws.get("deployment", "catalog").is_none());
    assert!(ws.get("deployment", "finder").is_none());
}

#[test]
fn a_parent_left_in_default_by_gen_0_1_is_migrated_by_a_prune() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    let legacy = gen::apply::ApplySet::for_project(&ns, "default");
    // What gen 0.1 left: its parent in `default`, and a member that has
    // since left the catalog.
    cluster().kubectl_ok(&["create", "namespace", &ns]);
    cluster().kubectl_ok(&[
        "create",
        "deployment",
        "old-thing",
        "-n",
        &ns,
        "--image=nginx:1.27",
    ]);
    cluster().kubectl_ok(&[
        "label",
        "deployment",
        "old-thing",
        "-n",
        &ns,
        &format!("{PART_OF}={}", legacy.id),
    ]);
    cluster().kubectl_ok(&["create", "configmap", &legacy.parent, "-n", "default"]);
    cluster().kubectl_ok(&[
        "label",
        "configmap",
        &legacy.parent,
        "-n",
        "default",
        &format!("applyset.kubernetes.io/id={}", legacy.id),
    ]);
    cluster().kubectl_ok(&[
        "annotate",
        "configmap",
        &legacy.parent,
        "-n",
        "default",
        "applyset.kubernetes.io/tooling=gen/0.1.0",
        "applyset.kubernetes.io/contains-group-kinds=Deployment.apps",
        &format!("applyset.kubernetes.io/additional-namespaces={ns}"),
    ]);
    // Without --prune nothing of the old set goes.
    ws.ok(&["apply", "--context", "test"]);
    assert!(ws.get("deployment", "old-thing").is_some());
    assert!(cluster()
        .get("configmap", Some("default"), &legacy.parent)
        .is_some());
    let (stdout, _) = ws.ok(&["apply", "--context", "test", "--prune"]);
    assert!(
        stdout.contains(&format!("deployment/old-thing -n {ns}")) && stdout.contains("pruned"),
        "{stdout}"
    );
    assert!(ws.get("deployment", "old-thing").is_none());
    assert!(cluster()
        .get("configmap", Some("default"), &legacy.parent)
        .is_none());
    assert!(cluster()
        .get("configmap", Some(&ns), &legacy.parent)
        .is_some());
    assert_ne!(
        ws.deployment("catalog")["metadata"]["labels"][PART_OF],
        json!(legacy.id)
    );
}

/// A stateful service of the workspace: two Redis pods, each with its own
/// claim at /data.
const STATEFUL: &str = "services:
  cache:
    image: docker.io/library/redis:7.4.2-alpine
    port: 6379
    replicas: 2
    probes: {type: tcp}
    volumes: [{path: /data, size: 1Gi}]
    writable: [/var/run/redis]

";

#[test]
fn a_stateful_service_rolls_out_keeps_its_claims_and_refuses_a_rollback() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.edit("services:\n", STATEFUL);
    let (_, stderr) = ws.rolled_out(&["--context", "test"]);
    assert!(
        stderr.contains(&format!(
            "statefulset/cache -n {ns}: successfully rolled out"
        )),
        "{stderr}"
    );
    let sts = ws.get("statefulset", "cache").expect("statefulset");
    assert_eq!(sts["spec"]["serviceName"], "cache-headless", "{sts}");
    let headless = ws.get("service", "cache-headless").expect("headless");
    assert_eq!(headless["spec"]["clusterIP"], "None", "{headless}");
    // The real controller makes one claim per pod from the template.
    let claims = || {
        let mut names: Vec<String> = cluster()
            .list("persistentvolumeclaims", &ns)
            .iter()
            .filter_map(|c| c["metadata"]["name"].as_str().map(str::to_owned))
            .collect();
        names.sort();
        names
    };
    cluster().eventually("two claims", Duration::from_secs(30), || {
        (claims() == ["data-cache-0", "data-cache-1"]).then_some(())
    });

    // A new image rolls pod by pod: the wait ends on the update revision.
    ws.edit("redis:7.4.2-alpine", "redis:7.4.3-alpine");
    ws.rolled_out(&["--context", "test"]);
    let sts = ws.get("statefulset", "cache").expect("statefulset");
    assert_eq!(
        sts["spec"]["template"]["spec"]["containers"][0]["image"],
        "docker.io/library/redis:7.4.3-alpine"
    );
    assert_eq!(sts["status"]["updatedReplicas"], 2, "{sts}");
    assert_eq!(sts["status"]["readyReplicas"], 2, "{sts}");

    // Rolling back under data the new version wrote is the author's call.
    let o = ws.gen(&["rollback", "cache", "--context", "test"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 2, "{stdout}\n{stderr}");
    assert!(stderr.contains("it is stateful"), "{stderr}");
    assert!(
        packed(&stderr).contains("setthepreviousimageof`cache`inthecatalog"),
        "{stderr}"
    );

    // Gone from the catalog: pruned, but its claims (Retain) stay.
    ws.edit(&STATEFUL.replace("7.4.2", "7.4.3"), "services:\n");
    ws.ok(&["apply", "--context", "test", "--prune"]);
    cluster().eventually("the pruned StatefulSet", Duration::from_secs(30), || {
        ws.get("statefulset", "cache").is_none().then_some(())
    });
    assert!(ws.get("service", "cache-headless").is_none());
    assert_eq!(claims(), ["data-cache-0", "data-cache-1"]);
}

/// A service with a one-off migration Job (run before its Deployment).
const MIGRATING: &str = "services:
  ledger:
    image: ghcr.io/shop/ledger:1.0.0-aaa1111
    port: 8080
    replicas: 2
    jobs:
      migrate: {command: [/app/migrate], args: [up], backoff_limit: 1, deadline: 300}

";

#[test]
fn wait_runs_a_migration_job_before_the_rollout_and_explains_its_failure() {
    let ws = Workspace::new();
    let ns = ws.ns.clone();
    ws.edit("services:\n", MIGRATING);
    ws.rolled_out(&["--context", "test"]);
    // The real Job controller saw its pod succeed.
    let jobs = cluster().list("jobs", &ns);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    let first = job["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(first.starts_with("ledger-migrate-"), "{first}");
    assert!(
        job["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Complete" && c["status"] == "True"),
        "{job}"
    );
    assert_eq!(
        ws.deployment("ledger")["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/shop/ledger:1.0.0-aaa1111"
    );

    // A new image whose migration fails: a new Job (its pod template is
    // immutable, so its name changes), which fails after its retries; the
    // Deployment of the next wave is not touched, and the error says why.
    cluster().fail_image("ghcr.io/shop/ledger:1.0.1-bad0000");
    ws.edit("ledger:1.0.0-aaa1111", "ledger:1.0.1-bad0000");
    let o = ws.gen(&["apply", "--context", "test", "--wait", "--timeout", "90s"]);
    let (stdout, stderr) = out(&o);
    assert_eq!(code(&o), 1, "{stdout}\n{stderr}");
    let packed = packed(&stderr);
    assert!(stderr.contains("job/ledger-migrate-"), "{stderr}");
    assert!(stderr.contains("BackoffLimitExceeded"), "{stderr}");
    assert!(packed.contains("exitcode1"), "{stderr}");
    assert!(packed.contains("relation\"orders\"islocked"), "{stderr}");
    // The test cluster's pods never ran on a node: their log is empty,
    // which gen says rather than print an empty tail.
    assert!(packed.contains("itslogisempty"), "{stderr}");
    assert_eq!(
        ws.deployment("ledger")["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/shop/ledger:1.0.0-aaa1111",
        "the rollout after a failed migration must not start"
    );
    let names: Vec<String> = cluster()
        .list("jobs", &ns)
        .iter()
        .filter_map(|j| j["metadata"]["name"].as_str().map(str::to_owned))
        .collect();
    assert!(names.len() == 2 && names.contains(&first), "{names:?}");
}
