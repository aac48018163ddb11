//! What a service's container needs beyond its image and port: command and
//! arguments, extra named ports, configuration files, registry credentials,
//! its ServiceAccount's annotations and API access, and security overrides.
//! [`resolve`] builds the model's [`ContainerModel`]; [`check`] refuses what
//! cannot run, each problem at its node.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::catalog::types::{Catalog, RbacRule, Service};
use crate::catalog::{push_pointer, SpanIndex};
use crate::diag::{Problem, SourceFile};

use super::names;

/// User and group id the pods run as unless `security` overrides them.
pub const RUN_AS_ID: i64 = 10001;
/// Name of the metrics port (`alerts.metrics.port`, or `ports.metrics`).
pub const METRICS_PORT: &str = "metrics";
/// Names of the main port, which an extra port may not take.
pub const MAIN_PORT_NAMES: [&str; 2] = ["http", "tcp"];
/// The API server's limit on a ConfigMap's data: keys and values together.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;
/// The pod's writable scratch directory; files may not be mounted under it.
pub const TMP: &str = "/tmp";
/// Verbs of the Kubernetes API a Role may grant.
pub const VERBS: [&str; 9] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "*",
];

/// A configuration file of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileModel {
    /// Absolute path in the container.
    pub path: String,
    /// Key in the `<service>-files` ConfigMap.
    pub key: String,
    /// Content.
    pub content: String,
}

/// Security settings of the pod, overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityModel {
    /// User id (never 0).
    pub run_as_user: i64,
    /// Group id, also the volumes' `fsGroup`.
    pub run_as_group: i64,
    /// Whether the root filesystem is read-only.
    pub read_only_root_filesystem: bool,
    /// Whether the catalog overrides any of them (`security`).
    pub overridden: bool,
}

/// The container facts of a service.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerModel {
    /// Entrypoint (empty: the image's).
    pub command: Vec<String>,
    /// Arguments (empty: the image's).
    pub args: Vec<String>,
    /// Extra named ports besides the main one, `metrics` included.
    pub ports: BTreeMap<String, u16>,
    /// Configuration files, by path.
    pub files: Vec<FileModel>,
    /// Registry credential Secrets.
    pub image_pull_secrets: Vec<String>,
    /// ServiceAccount annotations.
    pub annotations: BTreeMap<String, String>,
    /// RBAC rules of the service's Role (empty: no Role, no token).
    pub rules: Vec<RbacRule>,
    /// Security settings.
    pub security: SecurityModel,
}

/// The container facts of `s`, defaults (`defaults`, gen's) applied.
pub fn resolve(c: &Catalog, s: &Service) -> ContainerModel {
    let mut ports: BTreeMap<String, u16> = s
        .ports
        .iter()
        .map(|(k, p)| (k.clone(), u16::try_from(*p).unwrap_or(u16::MAX)))
        .collect();
    if let Some(p) = s.alerts.as_ref().and_then(|a| a.metrics.as_ref()?.port) {
        ports.insert(METRICS_PORT.into(), u16::try_from(p).unwrap_or(u16::MAX));
    }
    let files = s
        .files
        .iter()
        .enumerate()
        .map(|(i, (path, content))| FileModel {
            path: path.clone(),
            key: file_key(i, path),
            content: content.clone(),
        })
        .collect();
    let sec = s.security.clone().unwrap_or_default();
    let sa = s.service_account.clone().unwrap_or_default();
    let mut image_pull_secrets = s.image_pull_secrets.clone().unwrap_or_else(|| {
        c.defaults
            .as_ref()
            .map(|d| d.image_pull_secrets.clone())
            .unwrap_or_default()
    });
    image_pull_secrets.sort();
    image_pull_secrets.dedup();
    ContainerModel {
        command: s.command.clone(),
        args: s.args.clone(),
        ports,
        files,
        image_pull_secrets,
        annotations: sa.annotations,
        rules: sa
            .rules
            .into_iter()
            .map(|mut r| {
                r.api_groups.get_or_insert_with(|| vec![String::new()]);
                r
            })
            .collect(),
        security: SecurityModel {
            run_as_user: sec.run_as_user.map_or(RUN_AS_ID, i64::from),
            run_as_group: sec.run_as_group.map_or(RUN_AS_ID, i64::from),
            read_only_root_filesystem: sec.read_only_root_filesystem.unwrap_or(true),
            overridden: s.security.is_some(),
        },
    }
}

/// The ConfigMap key of the `i`-th file: its position (unique) and its
/// base name (readable), cut to the API server's 253 characters.
fn file_key(i: usize, path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or_default();
    let key = format!("{i}-{base}");
    key.chars().take(253).collect()
}

/// Where the problems go: the catalog's text and spans.
pub struct Cx<'a> {
    /// The catalog.
    pub src: &'a SourceFile,
    /// Its spans.
    pub spans: &'a SpanIndex,
    /// Problems found.
    pub out: Vec<Problem>,
}

impl Cx<'_> {
    fn at(&self, code: &'static str, p: &str, key: bool, msg: String) -> Problem {
        let span: Range<usize> = if key {
            self.spans.key_or_value(p)
        } else {
            self.spans.value(p)
        };
        Problem::new(self.src, code, span, msg)
    }
}

fn finish(cx: &mut Cx, p: Problem, label: &str, help: String) {
    cx.out.push(p.label(label).help(help));
}

/// Refuse what the container keys of service `sp` (its catalog pointer)
/// cannot run.
pub fn check(cx: &mut Cx, sp: &str, s: &Service) {
    ports(cx, sp, s);
    files(cx, sp, s);
    if let Some(sa) = &s.service_account {
        let ap = push_pointer(&push_pointer(sp, "service_account"), "annotations");
        for k in sa.annotations.keys().filter(|k| !names::label_key(k)) {
            let p = cx.at(
                "catalog::annotation-key",
                &push_pointer(&ap, k),
                true,
                format!("`{k}` is not a valid annotation key"),
            );
            finish(cx, p, "annotation key", names::LABEL_KEY_RULE.to_owned());
        }
        let rp = push_pointer(&push_pointer(sp, "service_account"), "rules");
        for (i, r) in sa.rules.iter().enumerate() {
            for (j, v) in r.verbs.iter().enumerate() {
                if !VERBS.contains(&v.as_str()) {
                    let at = push_pointer(
                        &push_pointer(&push_pointer(&rp, &i.to_string()), "verbs"),
                        &j.to_string(),
                    );
                    let p = cx.at(
                        "catalog::rbac-verb",
                        &at,
                        false,
                        format!("`{v}` is not a Kubernetes API verb"),
                    );
                    finish(
                        cx,
                        p,
                        "unknown verb",
                        format!("use one of {}", VERBS.join(", ")),
                    );
                }
            }
        }
    }
    if let Some(sec) = &s.security {
        let at = |k: &str| push_pointer(&push_pointer(sp, "security"), k);
        if sec.run_as_user == Some(0) {
            let p = cx.at("catalog::run-as-root", &at("run_as_user"), false, "`run_as_user: 0` runs the container as root, which Pod Security `restricted` refuses".into());
            finish(
                cx,
                p,
                "root",
                "use the image's non-root user id (e.g. 472 for Grafana, 65534 for nobody)".into(),
            );
        }
        if sec.run_as_group == Some(0) {
            let p = cx.at(
                "catalog::run-as-root",
                &at("run_as_group"),
                false,
                "`run_as_group: 0` runs the container in the root group".into(),
            );
            finish(
                cx,
                p,
                "root group",
                "use the image's non-root group id".into(),
            );
        }
    }
}

/// IANA service name: 1-15 of `a-z`, `0-9`, `-`, at least one letter, no
/// `-` at either end or twice in a row.
pub fn port_name(n: &str) -> bool {
    (1..=15).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && n.bytes().any(|b| b.is_ascii_lowercase())
        && !n.starts_with('-')
        && !n.ends_with('-')
        && !n.contains("--")
}

fn ports(cx: &mut Cx, sp: &str, s: &Service) {
    let pp = push_pointer(sp, "ports");
    let mut seen: BTreeMap<u32, String> = BTreeMap::new();
    if let Some(port) = s.port {
        seen.insert(port, push_pointer(sp, "port"));
    }
    let metrics = s.alerts.as_ref().and_then(|a| a.metrics.as_ref()?.port);
    for (name, &port) in &s.ports {
        let at = push_pointer(&pp, name);
        if !port_name(name) {
            let p = cx.at(
                "catalog::port-name",
                &at,
                true,
                format!("`{name}` is not a valid port name"),
            );
            finish(cx, p, "port name", "at most 15 characters: lowercase letters, digits and `-`, with at least one letter, no `-` at either end or twice in a row".into());
        } else if MAIN_PORT_NAMES.contains(&name.as_str()) {
            let p = cx.at(
                "catalog::port-name",
                &at,
                true,
                format!("`{name}` is the name of the service's main `port`"),
            );
            finish(
                cx,
                p,
                "taken by the main port",
                "give the extra port another name, e.g. `admin`".into(),
            );
        }
        if name == METRICS_PORT && metrics.is_some_and(|m| m != port) {
            let mp = push_pointer(
                &push_pointer(&push_pointer(sp, "alerts"), "metrics"),
                "port",
            );
            let note = cx.spans.value(&mp);
            let p = cx.at("catalog::port-metrics", &at, false, format!("`ports.metrics` ({port}) and `alerts.metrics.port` ({}) name two metrics ports", metrics.unwrap_or_default()));
            cx.out.push(
                p.label("metrics port")
                    .note(note, "the other")
                    .help("keep one: the port named `metrics` is where Prometheus scrapes"),
            );
            continue;
        }
        match seen.get(&port) {
            Some(first) => {
                let note = cx.spans.value(first);
                let p = cx.at(
                    "catalog::port-duplicate",
                    &at,
                    false,
                    format!("port {port} is already used by this service"),
                );
                cx.out.push(
                    p.label("second use")
                        .note(note, "first use")
                        .help("give each port its own number"),
                );
            }
            None => {
                seen.insert(port, at);
            }
        }
    }
}

fn files(cx: &mut Cx, sp: &str, s: &Service) {
    let fp = push_pointer(sp, "files");
    let paths: Vec<&String> = s.files.keys().collect();
    let mut total = 0usize;
    for (i, (path, content)) in s.files.iter().enumerate() {
        let at = push_pointer(&fp, path);
        total += content.len() + file_key(i, path).len();
        if path.split('/').any(|c| c == "." || c == "..") {
            let p = cx.at(
                "catalog::file-path",
                &at,
                true,
                format!("`{path}` has a `.` or `..` component"),
            );
            finish(
                cx,
                p,
                "not a plain absolute path",
                "write the path without `.` and `..`, e.g. `/etc/app/application.yml`".into(),
            );
        } else if path == TMP || path.starts_with("/tmp/") {
            let p = cx.at(
                "catalog::file-path",
                &at,
                true,
                format!("`{path}` lies under `/tmp`, the pod's scratch directory"),
            );
            finish(
                cx,
                p,
                "under /tmp",
                "mount the file elsewhere, e.g. under `/etc/<app>/`".into(),
            );
        } else if let Some(parent) = paths.iter().find(|o| path.starts_with(&format!("{o}/"))) {
            let note = cx.spans.key_or_value(&push_pointer(&fp, parent));
            let p = cx.at(
                "catalog::file-path",
                &at,
                true,
                format!("`{path}` lies inside the file `{parent}`"),
            );
            cx.out.push(
                p.label("inside another file")
                    .note(note, "that file")
                    .help("a path cannot be both a file and a directory: rename one of them"),
            );
        }
    }
    if total > CONFIG_MAP_LIMIT {
        let p = cx.at("catalog::files-too-large", &fp, true, format!("the files take {total} bytes, more than a ConfigMap holds ({CONFIG_MAP_LIMIT} bytes)"));
        finish(
            cx,
            p,
            "too large",
            "ship large files in the image or a volume; keep configuration here".into(),
        );
    }
}
