//! The objects `gen apply` sends, in dependency order, with ownership labels.
//!
//! Pure: no IO. Ownership follows the Kubernetes ApplySet convention
//! (KEP-3659, the one `kubectl apply --prune --applyset` uses): a parent
//! ConfigMap carries `applyset.kubernetes.io/id` and lists the group-kinds and
//! namespaces of its members; every member carries
//! `applyset.kubernetes.io/part-of: <id>`. Pruning deletes only objects whose
//! label carries this exact id.
//!
//! The parent lives in the first of the catalog's namespaces (sorted), so an
//! identity allowed only into the catalog's namespaces can write it.
//! Namespaces are applied but are not members: gen never deletes one, so
//! listing them as members would only make every later run report them.

use std::collections::BTreeSet;

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::emit::manifests::File;

/// Label every applied object carries: the ApplySet it belongs to.
pub const PART_OF: &str = "applyset.kubernetes.io/part-of";
/// Label of the ApplySet parent: its id.
pub const APPLYSET_ID: &str = "applyset.kubernetes.io/id";
/// Parent annotation: the tool that manages the set.
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
/// Parent annotation: the group-kinds of the members (`Deployment.apps,...`).
pub const GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
/// Parent annotation: member namespaces besides the parent's own.
pub const NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";
/// The standard "managed by" label; set to `gen` on applied objects.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Namespace of the ApplySet parent of a catalog without namespaced objects,
/// and of the parents gen 0.1 wrote for every catalog (read to migrate them).
pub const LEGACY_PARENT_NAMESPACE: &str = "default";
/// The `tooling` annotation's prefix on parents gen manages.
pub const TOOLING_PREFIX: &str = "gen/";

/// A kind gen applies, with what the API needs to address it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// Apply wave: lower first, the kinds of one wave concurrently.
    /// Namespaces before what lives in them; what pods need or meet at
    /// start (ServiceAccounts, ConfigMaps, Services, NetworkPolicies) and
    /// the one-off Jobs before the Deployments and CronJobs; what points at a Deployment or a Service (HPAs,
    /// PDBs, Ingresses) after them.
    pub order: u8,
    /// API group (`""` for core).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Resource name in URLs.
    pub plural: &'static str,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
}

impl Kind {
    /// `apiVersion` as written in objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `Kind.group` as ApplySet annotations write it (`Namespace`, `Deployment.apps`).
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_owned()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// The kind of an object from its `apiVersion` and `kind`.
    pub fn of(api_version: &str, kind: &str) -> Option<Kind> {
        KINDS
            .iter()
            .copied()
            .find(|k| k.kind == kind && k.api_version() == api_version)
    }

    /// The kind from an ApplySet group-kind (`Deployment.apps`).
    pub fn from_group_kind(gk: &str) -> Option<Kind> {
        KINDS.iter().copied().find(|k| k.group_kind() == gk)
    }
}

/// Every kind gen applies, in apply order.
pub const KINDS: &[Kind] = &[
    kind(0, "", "v1", "Namespace", "namespaces", false),
    kind(1, "", "v1", "ServiceAccount", "serviceaccounts", true),
    kind(1, "", "v1", "ConfigMap", "configmaps", true),
    kind(1, "", "v1", "Service", "services", true),
    kind(
        1,
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    // With the ServiceAccounts: the pods' API access is in place when they start.
    kind(1, "rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    kind(
        1,
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    // One-off Jobs (a migration) run before the Deployments that need
    // them; `--wait` waits for them before the next wave.
    kind(2, "batch", "v1", "Job", "jobs", true),
    kind(3, "apps", "v1", "Deployment", "deployments", true),
    kind(3, "apps", "v1", "StatefulSet", "statefulsets", true),
    kind(3, "batch", "v1", "CronJob", "cronjobs", true),
    kind(
        4,
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
    ),
    kind(
        4,
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    kind(4, "networking.k8s.io", "v1", "Ingress", "ingresses", true),
];

const fn kind(
    order: u8,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        order,
        group,
        version,
        kind,
        plural,
        namespaced,
    }
}

/// Which object: kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// Its kind.
    pub kind: Kind,
    /// Namespace (`None` for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    /// `deployment/api -n platform`, `namespace/platform`: how kubectl users
    /// name objects.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.kind.to_lowercase(), self.name)?;
        if let Some(ns) = &self.namespace {
            write!(f, " -n {ns}")?;
        }
        Ok(())
    }
}

/// One object to apply.
#[derive(Debug, Clone)]
pub struct Obj {
    /// Which object.
    pub id: ObjectRef,
    /// Its full JSON, ownership labels included.
    pub body: Value,
}

/// The ApplySet of a project.
#[derive(Debug, Clone)]
pub struct ApplySet {
    /// The parent ConfigMap's name.
    pub parent: String,
    /// The parent's namespace.
    pub namespace: String,
    /// The id every member's `applyset.kubernetes.io/part-of` label carries.
    pub id: String,
}

/// The group-kinds and namespaces an ApplySet parent records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// `Deployment.apps`, ...: the kinds gen knows and any other a parent
    /// lists (kept, so a tool that knows them can still prune them).
    pub group_kinds: BTreeSet<String>,
    /// Every member namespace, the parent's own included.
    pub namespaces: BTreeSet<String>,
}

impl Members {
    /// The members of `kinds` in `namespaces`.
    pub fn of(kinds: &BTreeSet<Kind>, namespaces: &BTreeSet<String>) -> Members {
        Members {
            group_kinds: kinds.iter().map(Kind::group_kind).collect(),
            namespaces: namespaces.clone(),
        }
    }

    /// The kinds gen knows among the group-kinds.
    pub fn kinds(&self) -> BTreeSet<Kind> {
        self.group_kinds
            .iter()
            .filter_map(|gk| Kind::from_group_kind(gk))
            .collect()
    }

    /// The group-kinds gen does not know.
    pub fn unknown(&self) -> BTreeSet<String> {
        self.group_kinds
            .iter()
            .filter(|gk| Kind::from_group_kind(gk).is_none())
            .cloned()
            .collect()
    }

    /// Both sets joined.
    pub fn union(&self, other: &Members) -> Members {
        Members {
            group_kinds: self
                .group_kinds
                .union(&other.group_kinds)
                .cloned()
                .collect(),
            namespaces: self.namespaces.union(&other.namespaces).cloned().collect(),
        }
    }
}

impl ApplySet {
    /// The ApplySet of `project` with its parent in `namespace`. The id is
    /// KEP-3659's: `applyset-<base64url(sha256(<name>.<namespace>.<Kind>.<group>))>-v1`.
    pub fn for_project(project: &str, namespace: &str) -> ApplySet {
        let parent = format!("gen-applyset-{project}");
        let digest = Sha256::digest(format!("{parent}.{namespace}.ConfigMap.").as_bytes());
        let id = format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        );
        ApplySet {
            parent,
            namespace: namespace.to_owned(),
            id,
        }
    }

    /// Where gen 0.1 kept this project's parent (in `default`, with an id of
    /// its own), when that is not where it lives now: read once to migrate.
    pub fn legacy(&self) -> Option<ApplySet> {
        (self.namespace != LEGACY_PARENT_NAMESPACE).then(|| {
            let project = self.parent.trim_start_matches("gen-applyset-");
            ApplySet::for_project(project, LEGACY_PARENT_NAMESPACE)
        })
    }

    /// The parent object listing `members` (namespaces other than the
    /// parent's own go to `additional-namespaces`).
    pub fn parent_object(&self, members: &Members) -> Value {
        let extra: Vec<&str> = members
            .namespaces
            .iter()
            .map(String::as_str)
            .filter(|n| *n != self.namespace)
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.parent,
                "namespace": self.namespace,
                "labels": { APPLYSET_ID: self.id, MANAGED_BY: crate::apply::FIELD_MANAGER },
                "annotations": {
                    TOOLING: format!("{TOOLING_PREFIX}{}", env!("CARGO_PKG_VERSION")),
                    GROUP_KINDS: members.group_kinds.iter().cloned().collect::<Vec<_>>().join(","),
                    NAMESPACES: extra.join(","),
                },
            },
        })
    }

    /// Why a live object of the parent's name cannot be this set's parent
    /// (None: it is).
    pub fn foreign_parent(&self, live: &Value) -> Option<String> {
        let meta = &live["metadata"];
        let id = meta["labels"][APPLYSET_ID].as_str();
        let tooling = meta["annotations"][TOOLING].as_str();
        match (id, tooling) {
            (Some(i), Some(t)) if i == self.id && t.starts_with(TOOLING_PREFIX) => None,
            (Some(i), _) if i != self.id => Some(format!(
                "it is the parent of another ApplySet (`{APPLYSET_ID}: {i}`)"
            )),
            (_, Some(t)) if !t.starts_with(TOOLING_PREFIX) => {
                Some(format!("another tool manages it (`{TOOLING}: {t}`)"))
            }
            _ => Some(format!(
                "it is not an ApplySet parent (no `{APPLYSET_ID}` label or `{TOOLING}` annotation)"
            )),
        }
    }

    /// Read the members a live parent records.
    pub fn members_of(parent: &Value) -> Members {
        let ann = &parent["metadata"]["annotations"];
        let split = |key: &str| -> Vec<String> {
            ann[key]
                .as_str()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let mut namespaces: BTreeSet<String> = split(NAMESPACES).into_iter().collect();
        if let Some(ns) = parent["metadata"]["namespace"].as_str() {
            namespaces.insert(ns.to_owned());
        }
        Members {
            group_kinds: split(GROUP_KINDS).into_iter().collect(),
            namespaces,
        }
    }
}

/// Everything `gen apply` sends for one catalog.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The project's ApplySet.
    pub applyset: ApplySet,
    /// Objects in apply order.
    pub objects: Vec<Obj>,
}

/// An object that already carries a label only the ApplySet may set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object} carries the label `{label}`, which only gen's ApplySet sets")]
pub struct ReservedLabel {
    /// Which object.
    pub object: String,
    /// The label key.
    pub label: String,
}

impl Desired {
    /// The objects of `files` (as `emit::manifests::files` renders them),
    /// sorted into apply order (by kind, then namespace and name), each but
    /// the Namespaces labelled as a member of the project's ApplySet. An
    /// object that already carries an `applyset.kubernetes.io/` label is
    /// refused: it would claim membership of some set by itself.
    pub fn new(project: &str, files: &[File]) -> Result<Desired, ReservedLabel> {
        for body in files.iter().flat_map(|f| &f.objects).map(|(_, b)| b) {
            let reserved = body["metadata"]["labels"]
                .as_object()
                .and_then(|l| l.keys().find(|k| k.starts_with("applyset.kubernetes.io/")));
            if let Some(label) = reserved {
                return Err(ReservedLabel {
                    object: format!(
                        "{}/{}",
                        body["kind"].as_str().unwrap_or("?").to_lowercase(),
                        body["metadata"]["name"].as_str().unwrap_or("?")
                    ),
                    label: label.clone(),
                });
            }
        }
        let parent_ns = files
            .iter()
            .flat_map(|f| &f.objects)
            .filter_map(|(_, b)| b["metadata"]["namespace"].as_str())
            .min()
            .unwrap_or(LEGACY_PARENT_NAMESPACE)
            .to_owned();
        let applyset = ApplySet::for_project(project, &parent_ns);
        let mut objects: Vec<Obj> = files
            .iter()
            .flat_map(|f| &f.objects)
            .filter_map(|(_, body)| {
                let kind = Kind::of(body["apiVersion"].as_str()?, body["kind"].as_str()?)?;
                let meta = &body["metadata"];
                let id = ObjectRef {
                    kind,
                    namespace: kind
                        .namespaced
                        .then(|| meta["namespace"].as_str().map(str::to_owned))
                        .flatten(),
                    name: meta["name"].as_str()?.to_owned(),
                };
                let mut body = body.clone();
                let labels = &mut body["metadata"]["labels"];
                if !labels.is_object() {
                    *labels = json!({});
                }
                if kind.kind != "Namespace" {
                    labels[PART_OF] = json!(applyset.id);
                }
                labels[MANAGED_BY] = json!(crate::apply::FIELD_MANAGER);
                Some(Obj { id, body })
            })
            .collect();
        objects.sort_by(|a, b| {
            (a.id.kind.order, &a.id.namespace, &a.id.name, a.id.kind.kind).cmp(&(
                b.id.kind.order,
                &b.id.namespace,
                &b.id.name,
                b.id.kind.kind,
            ))
        });
        Ok(Desired { applyset, objects })
    }

    /// The kinds among the ApplySet's members (every kind but Namespace).
    pub fn kinds(&self) -> BTreeSet<Kind> {
        self.objects
            .iter()
            .map(|o| o.id.kind)
            .filter(|k| k.kind != "Namespace")
            .collect()
    }

    /// What the parent records for the objects.
    pub fn members(&self) -> Members {
        let mut m = Members::of(&self.kinds(), &self.namespaces());
        m.namespaces.insert(self.applyset.namespace.clone());
        m
    }

    /// The namespaces the objects live in.
    pub fn namespaces(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter_map(|o| o.id.namespace.clone())
            .collect()
    }

    /// The object `id`, if desired.
    pub fn get(&self, id: &ObjectRef) -> Option<&Obj> {
        self.objects.iter().find(|o| &o.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applyset_id_has_the_kep_shape_and_is_stable() {
        let a = ApplySet::for_project("karina", "services");
        assert!(
            a.id.starts_with("applyset-") && a.id.ends_with("-v1"),
            "{}",
            a.id
        );
        // 32 bytes of sha256 in unpadded base64 = 43 characters.
        assert_eq!(a.id.len(), "applyset-".len() + 43 + "-v1".len());
        assert_eq!(a.id, ApplySet::for_project("karina", "services").id);
        assert_ne!(a.id, ApplySet::for_project("other", "services").id);
        assert_ne!(a.id, ApplySet::for_project("karina", "default").id);
        // Label values allow at most 63 characters.
        assert!(a.id.len() <= 63);
    }

    #[test]
    fn parent_round_trips_its_members() {
        let a = ApplySet::for_project("p", "apps");
        let deployment = Kind::of("apps/v1", "Deployment").expect("a kind gen applies");
        let kinds: BTreeSet<Kind> = [KINDS[2], deployment].into_iter().collect();
        let ns: BTreeSet<String> = ["platform".into(), "apps".into()].into_iter().collect();
        let mut members = Members::of(&kinds, &ns);
        members.group_kinds.insert("Widget.example.com".into());
        let parent = a.parent_object(&members);
        assert_eq!(
            parent["metadata"]["annotations"][GROUP_KINDS],
            "ConfigMap,Deployment.apps,Widget.example.com"
        );
        assert_eq!(parent["metadata"]["annotations"][NAMESPACES], "platform");
        let read = ApplySet::members_of(&parent);
        assert_eq!(read, members);
        assert_eq!(read.kinds(), kinds);
        assert_eq!(
            read.unknown().into_iter().collect::<Vec<_>>(),
            ["Widget.example.com"]
        );
        assert_eq!(a.foreign_parent(&parent), None);
    }

    #[test]
    fn a_parent_of_another_set_or_tool_is_foreign() {
        let a = ApplySet::for_project("p", "apps");
        let mut other = a.parent_object(&Members::default());
        other["metadata"]["annotations"][TOOLING] = json!("kubectl/v1.37.2");
        assert!(a
            .foreign_parent(&other)
            .unwrap()
            .contains("kubectl/v1.37.2"));
        let mut other = a.parent_object(&Members::default());
        other["metadata"]["labels"][APPLYSET_ID] = json!("applyset-x-v1");
        assert!(a.foreign_parent(&other).unwrap().contains("applyset-x-v1"));
        assert!(a
            .foreign_parent(&json!({"metadata": {"name": "gen-applyset-p"}}))
            .unwrap()
            .contains("not an ApplySet parent"));
    }
}
