//! The objects `gen apply` sends, in dependency order, with ownership labels.
//!
//! Pure: no IO. Ownership follows the Kubernetes ApplySet convention
//! (KEP-3659, the one `kubectl apply --prune --applyset` uses): a parent
//! ConfigMap carries `applyset.kubernetes.io/id` and lists the group-kinds and
//! namespaces of its members; every member carries
//! `applyset.kubernetes.io/part-of: <id>`. Pruning deletes only objects whose
//! label carries this exact id.

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
/// Namespace of the ApplySet parent (always exists on a cluster).
pub const PARENT_NAMESPACE: &str = "default";

/// A kind gen applies, with what the API needs to address it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// Apply order: lower first (Namespaces before what lives in them,
    /// Services before the Deployments they select, ...).
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
    kind(2, "", "v1", "Service", "services", true),
    kind(3, "apps", "v1", "Deployment", "deployments", true),
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
    kind(
        5,
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    kind(6, "networking.k8s.io", "v1", "Ingress", "ingresses", true),
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
    /// The id every member's `applyset.kubernetes.io/part-of` label carries.
    pub id: String,
}

impl ApplySet {
    /// The ApplySet of `project`. The id is KEP-3659's:
    /// `applyset-<base64url(sha256(<name>.<namespace>.<Kind>.<group>))>-v1`.
    pub fn for_project(project: &str) -> ApplySet {
        let parent = format!("gen-applyset-{project}");
        let digest = Sha256::digest(format!("{parent}.{PARENT_NAMESPACE}.ConfigMap.").as_bytes());
        let id = format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        );
        ApplySet { parent, id }
    }

    /// The parent object listing `kinds` and `namespaces` (other than the
    /// parent's own) as members.
    pub fn parent_object(&self, kinds: &BTreeSet<Kind>, namespaces: &BTreeSet<String>) -> Value {
        let gks: BTreeSet<String> = kinds.iter().map(Kind::group_kind).collect();
        let extra: Vec<&str> = namespaces
            .iter()
            .map(String::as_str)
            .filter(|n| *n != PARENT_NAMESPACE)
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": self.parent,
                "namespace": PARENT_NAMESPACE,
                "labels": { APPLYSET_ID: self.id, MANAGED_BY: crate::apply::FIELD_MANAGER },
                "annotations": {
                    TOOLING: format!("gen/{}", env!("CARGO_PKG_VERSION")),
                    GROUP_KINDS: gks.into_iter().collect::<Vec<_>>().join(","),
                    NAMESPACES: extra.join(","),
                },
            },
        })
    }

    /// Read the member kinds and namespaces a live parent records.
    pub fn members_of(parent: &Value) -> (BTreeSet<Kind>, BTreeSet<String>) {
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
        let kinds = split(GROUP_KINDS)
            .iter()
            .filter_map(|gk| Kind::from_group_kind(gk))
            .collect();
        let mut namespaces: BTreeSet<String> = split(NAMESPACES).into_iter().collect();
        namespaces.insert(PARENT_NAMESPACE.to_owned());
        (kinds, namespaces)
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

impl Desired {
    /// The objects of `files` (as `emit::manifests::files` renders them),
    /// sorted into apply order (by kind, then namespace and name), each
    /// labelled as a member of the project's ApplySet.
    pub fn new(project: &str, files: &[File]) -> Desired {
        let applyset = ApplySet::for_project(project);
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
                labels[PART_OF] = json!(applyset.id);
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
        Desired { applyset, objects }
    }

    /// The kinds among the objects.
    pub fn kinds(&self) -> BTreeSet<Kind> {
        self.objects.iter().map(|o| o.id.kind).collect()
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
        let a = ApplySet::for_project("karina");
        assert!(
            a.id.starts_with("applyset-") && a.id.ends_with("-v1"),
            "{}",
            a.id
        );
        // 32 bytes of sha256 in unpadded base64 = 43 characters.
        assert_eq!(a.id.len(), "applyset-".len() + 43 + "-v1".len());
        assert_eq!(a.id, ApplySet::for_project("karina").id);
        assert_ne!(a.id, ApplySet::for_project("other").id);
        // Label values allow at most 63 characters.
        assert!(a.id.len() <= 63);
    }

    #[test]
    fn parent_round_trips_its_members() {
        let a = ApplySet::for_project("p");
        let kinds: BTreeSet<Kind> = [KINDS[0], KINDS[4]].into_iter().collect();
        let ns: BTreeSet<String> = ["platform".into(), "default".into()].into_iter().collect();
        let parent = a.parent_object(&kinds, &ns);
        assert_eq!(
            parent["metadata"]["annotations"][GROUP_KINDS],
            "Deployment.apps,Namespace"
        );
        assert_eq!(parent["metadata"]["annotations"][NAMESPACES], "platform");
        assert_eq!(ApplySet::members_of(&parent), (kinds, ns));
    }
}
