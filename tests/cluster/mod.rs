//! A real Kubernetes control plane for the tests: etcd, kube-apiserver and
//! kube-controller-manager built from their Go modules by
//! `scripts/testcluster.sh`, started once per test binary on 127.0.0.1, and
//! stopped by the script's watcher when the test binary ends (whether its
//! tests passed, failed or panicked).
//!
//! There is no kubelet: the [`NodeAgent`] here plays the kubelet's part for
//! pod status only. It marks every new pod Running and Ready through the
//! `/status` subresource, as a kubelet reports a started container, or,
//! for an image the test names with [`TestCluster::fail_image`], leaves it
//! Pending in `ImagePullBackOff` and records the Warning event a kubelet
//! would. Everything else (Deployments rolling out, ReplicaSets, garbage
//! collection, namespaces, HPAs) is the real controllers' work.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

/// The kubeconfig context `scripts/testcluster.sh up` writes.
pub const CONTEXT: &str = "testcluster";

/// One running control plane.
pub struct TestCluster {
    /// Its work directory (certificates, logs, audit log, kubeconfig).
    pub dir: PathBuf,
    /// The admin kubeconfig (context [`CONTEXT`]).
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    failing: Arc<Mutex<HashSet<String>>>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool built by `scripts/testcluster.sh build` (`kubectl`, `helm`).
pub fn tool(name: &str) -> PathBuf {
    repo().join(".tools/bin").join(name)
}

static SHARED: OnceLock<TestCluster> = OnceLock::new();

impl TestCluster {
    /// The control plane of this test binary, started on first use.
    /// Failing to build or start it fails the test: there is no fallback.
    pub fn shared() -> &'static TestCluster {
        SHARED.get_or_init(TestCluster::start)
    }

    fn start() -> TestCluster {
        let script = repo().join("scripts/testcluster.sh");
        let built = Command::new("bash")
            .arg(&script)
            .arg("build")
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/testcluster.sh build");
        assert!(
            built.status.success(),
            "scripts/testcluster.sh build failed:\n{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let dir = std::env::temp_dir().join(format!(
            "gen-testcluster-{}-{}",
            std::process::id(),
            std::env::args()
                .next()
                .and_then(|a| Path::new(&a)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned()))
                .unwrap_or_default()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let up = Command::new("bash")
            .arg(&script)
            .arg("up")
            .arg(&dir)
            .arg("--watch")
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/testcluster.sh up");
        assert!(
            up.status.success(),
            "scripts/testcluster.sh up failed:\n{}",
            String::from_utf8_lossy(&up.stderr)
        );
        let port = std::fs::read_to_string(dir.join("port")).expect("port file");
        let c = TestCluster {
            kubeconfig: dir.join("kubeconfig"),
            server: format!("https://127.0.0.1:{}", port.trim()),
            dir,
            failing: Arc::new(Mutex::new(HashSet::new())),
        };
        NodeAgent::spawn(c.kubeconfig.clone(), Arc::clone(&c.failing));
        c
    }

    /// A kubeconfig for a new user `name` (a client certificate signed by
    /// the cluster's CA, in `groups`) with contexts `test` (this cluster)
    /// and `dead` (a closed port). The audit log names the user, so a test
    /// finds its own requests among those of tests running beside it.
    pub fn user_kubeconfig(&self, name: &str, groups: &[&str], path: &Path) {
        let pki = self.dir.join("pki");
        let key = pki.join(format!("user-{name}.key"));
        let csr = pki.join(format!("user-{name}.csr"));
        let crt = pki.join(format!("user-{name}.crt"));
        let ext = pki.join(format!("user-{name}.ext"));
        let subject: String = groups
            .iter()
            .map(|g| format!("/O={g}"))
            .chain([format!("/CN={name}")])
            .collect();
        std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").expect("ext");
        let run = |args: &[&str]| {
            let o = Command::new("openssl")
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("openssl");
            assert!(o.status.success(), "openssl {args:?}: {o:?}");
        };
        let (k, c, t, e) = (
            key.to_str().unwrap(),
            csr.to_str().unwrap(),
            crt.to_str().unwrap(),
            ext.to_str().unwrap(),
        );
        run(&[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", k, "-out", c, "-subj", &subject,
        ]);
        let ca = pki.join("ca.crt");
        let ca_key = pki.join("ca.key");
        run(&[
            "x509",
            "-req",
            "-in",
            c,
            "-CA",
            ca.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            e,
            "-out",
            t,
        ]);
        let b64 = |p: &Path| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(std::fs::read(p).expect("read pem"))
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n\
             - name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n\
             - name: dead\n  cluster: {{server: 'https://127.0.0.1:9'}}\n\
             users:\n- name: {name}\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n\
             contexts:\n- name: test\n  context: {{cluster: test, user: {name}}}\n\
             - name: dead\n  context: {{cluster: dead, user: {name}}}\n",
            self.server,
            b64(&ca),
            b64(&crt),
            b64(&key),
        );
        std::fs::write(path, text).expect("write kubeconfig");
    }

    /// The audit events of the requests user `name` sent, in order. Waits
    /// until the log stops growing (events are written as requests end).
    pub fn requests_of(&self, name: &str) -> Vec<Value> {
        let mut last = usize::MAX;
        loop {
            let events: Vec<Value> = self
                .audit()
                .into_iter()
                .filter(|e| e["user"]["username"] == name)
                .collect();
            if events.len() == last {
                let mut events = events;
                events.sort_by(|a, b| {
                    a["requestReceivedTimestamp"]
                        .as_str()
                        .cmp(&b["requestReceivedTimestamp"].as_str())
                });
                return events;
            }
            last = events.len();
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Pods of this image stay in `ImagePullBackOff` from now on.
    pub fn fail_image(&self, image: &str) {
        self.failing.lock().unwrap().insert(image.to_owned());
    }

    /// Run the real kubectl against the cluster.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(tool("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run kubectl")
    }

    /// kubectl that must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let o = self.kubectl(args);
        assert!(
            o.status.success(),
            "kubectl {args:?} failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `kubectl get ... -o json`, or None when it does not exist.
    pub fn get(&self, kind: &str, ns: Option<&str>, name: &str) -> Option<Value> {
        let mut args = vec![
            "get",
            kind,
            name,
            "-o",
            "json",
            "--ignore-not-found",
            "--show-managed-fields",
        ];
        if let Some(ns) = ns {
            args.extend(["-n", ns]);
        }
        let text = self.kubectl_ok(&args);
        if text.trim().is_empty() {
            None
        } else {
            Some(serde_json::from_str(&text).expect("kubectl json"))
        }
    }

    /// Every object of `kind` in `ns` (`items`).
    pub fn list(&self, kind: &str, ns: &str) -> Vec<Value> {
        let text = self.kubectl_ok(&["get", kind, "-n", ns, "-o", "json", "--show-managed-fields"]);
        let v: Value = serde_json::from_str(&text).expect("kubectl json");
        v["items"].as_array().cloned().unwrap_or_default()
    }

    /// The audit log so far: one JSON event per request the server
    /// answered (level Request: verb, URI, user agent, request body).
    pub fn audit(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.join("audit.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Poll `f` until it returns Some, or panic after `timeout` naming `what`.
    pub fn eventually<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut() -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            assert!(start.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The kubelet's stand-in: reports pod status, nothing else.
struct NodeAgent;

impl NodeAgent {
    fn spawn(kubeconfig: PathBuf, failing: Arc<Mutex<HashSet<String>>>) {
        std::thread::Builder::new()
            .name("node-agent".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(NodeAgent::run(kubeconfig, failing));
            })
            .expect("spawn node agent");
    }

    async fn run(kubeconfig: PathBuf, failing: Arc<Mutex<HashSet<String>>>) {
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("kubeconfig");
        let mut config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .expect("config");
        config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_static("gen-test-node-agent"),
        ));
        let client = kube::Client::try_from(config).expect("client");
        let all: Api<Pod> = Api::all(client.clone());
        let mut done: HashSet<String> = HashSet::new();
        loop {
            if let Ok(list) = all.list(&ListParams::default()).await {
                for pod in list.items {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    if done.contains(&uid) || pod.metadata.deletion_timestamp.is_some() {
                        continue;
                    }
                    let failing = failing.lock().unwrap().clone();
                    if NodeAgent::report(&client, &pod, &failing).await {
                        done.insert(uid);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The containers' statuses as a kubelet reports them: ready (and
    /// started) or not, all in `state`.
    fn statuses(
        containers: &[k8s_openapi::api::core::v1::Container],
        ready: bool,
        state: serde_json::Value,
    ) -> Vec<serde_json::Value> {
        containers
            .iter()
            .map(|c| {
                json!({
                    "name": c.name,
                    "image": c.image,
                    "imageID": "",
                    "ready": ready,
                    "started": ready,
                    "restartCount": 0,
                    "state": state.clone(),
                })
            })
            .collect()
    }

    /// Report one pod's status; true when it was accepted.
    async fn report(client: &kube::Client, pod: &Pod, failing: &HashSet<String>) -> bool {
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let containers = pod
            .spec
            .as_ref()
            .map(|s| s.containers.clone())
            .unwrap_or_default();
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let bad = containers
            .iter()
            .find(|c| c.image.as_ref().is_some_and(|i| failing.contains(i)));
        // A batch pod (a Job's: restart policy Never) runs to its end: it
        // succeeds, or with a failing image exits 1 with a message, as a
        // kubelet would report it; the real Job controller takes it from
        // there.
        let batch = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("Never");
        let status = match bad {
            _ if batch => {
                let failed = bad.is_some();
                json!({
                    "phase": if failed { "Failed" } else { "Succeeded" },
                    "startTime": now,
                    "conditions": [
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                        {"type": "Ready", "status": "False", "lastTransitionTime": now,
                         "reason": "PodCompleted"},
                    ],
                    "containerStatuses": Self::statuses(&containers, false, json!({"terminated": if failed {
                        json!({"exitCode": 1, "reason": "Error",
                               "message": "migration failed: relation \"orders\" is locked",
                               "startedAt": now, "finishedAt": now})
                    } else {
                        json!({"exitCode": 0, "reason": "Completed",
                               "startedAt": now, "finishedAt": now})
                    }})),
                })
            }
            None => json!({
                "phase": "Running",
                "startTime": now,
                "conditions": (["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"]
                    .iter()
                    .map(|t| json!({"type": t, "status": "True", "lastTransitionTime": now}))
                    .collect::<Vec<_>>()),
                "containerStatuses": Self::statuses(&containers, true, json!({"running": {"startedAt": now}})),
            }),
            Some(b) => {
                let image = b.image.clone().unwrap_or_default();
                json!({
                    "phase": "Pending",
                    "startTime": now,
                    "conditions": [
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                        {"type": "Ready", "status": "False", "lastTransitionTime": now,
                         "reason": "ContainersNotReady",
                         "message": format!("containers with unready status: [{}]", b.name)},
                    ],
                    "containerStatuses": Self::statuses(&containers, false, json!({"waiting": {
                        "reason": "ImagePullBackOff",
                        "message": format!("Back-off pulling image \"{image}\""),
                    }})),
                })
            }
        };
        let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let ok = api
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await
            .is_ok();
        if ok && !batch {
            if let Some(b) = bad {
                let image = b.image.clone().unwrap_or_default();
                let events: Api<k8s_openapi::api::core::v1::Event> =
                    Api::namespaced(client.clone(), &ns);
                let event: k8s_openapi::api::core::v1::Event = serde_json::from_value(json!({
                    "metadata": {"generateName": format!("{name}."), "namespace": ns},
                    "involvedObject": {"kind": "Pod", "name": name, "namespace": ns,
                                       "uid": pod.metadata.uid, "apiVersion": "v1"},
                    "type": "Warning",
                    "reason": "Failed",
                    "message": format!("Failed to pull image \"{image}\": not found"),
                    "source": {"component": "kubelet"},
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "count": 1,
                }))
                .expect("event");
                let _ = events.create(&PostParams::default(), &event).await;
            }
        }
        ok
    }
}
