//! Self-test of the Kubernetes API test server (`tests/apiserver/`), driven
//! by the real `kube` client (and a raw HTTP helper where the status code or
//! exact body matters).

mod apiserver;

use std::io::{Read, Write};
use std::time::Duration;

use apiserver::{ApiServer, Rollout};
use futures_util::TryStreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Discovery, Scope};
use kube::{Client, Config, ResourceExt};
use serde_json::{json, Value};

fn client(srv: &ApiServer) -> Client {
    let config = Config::new(srv.url().parse().expect("server url"));
    Client::try_from(config).expect("kube client")
}

/// One HTTP/1.1 request without kube in between: (status code, JSON body).
fn raw(
    srv: &ApiServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let addr = srv.url().trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let code: u16 = resp[9..12].parse().expect("status code");
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (code, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn api_error(e: kube::Error) -> (u16, String, String) {
    match e {
        kube::Error::Api(s) => (s.code, s.reason.clone(), s.message.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn ns_obj(name: &str) -> Value {
    json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": name } })
}

fn deployment(name: &str, image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name, "namespace": "shop", "labels": { "app": name } },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "app", "image": image }] }
            }
        }
    })
}

async fn apply_dep(c: &Client, obj: &Value) -> Result<Deployment, kube::Error> {
    let api: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    api.patch(
        obj["metadata"]["name"].as_str().unwrap(),
        &PatchParams::apply("gen"),
        &Patch::Apply(obj),
    )
    .await
}

/// Server with namespace `shop` and fast rollouts.
fn shop_server() -> ApiServer {
    let srv = ApiServer::start();
    srv.insert(ns_obj("shop"), "gen");
    srv
}

#[tokio::test]
async fn discovery_finds_every_kind() {
    let srv = ApiServer::start();
    let c = client(&srv);
    assert_eq!(c.apiserver_version().await.unwrap().git_version, "v1.33.0");
    let d = Discovery::new(c.clone()).run().await.unwrap();
    let kinds = [
        ("", "v1", "Namespace", "namespaces", false),
        ("", "v1", "ServiceAccount", "serviceaccounts", true),
        ("", "v1", "ConfigMap", "configmaps", true),
        ("", "v1", "Service", "services", true),
        ("", "v1", "Secret", "secrets", true),
        ("", "v1", "Pod", "pods", true),
        ("", "v1", "Event", "events", true),
        ("apps", "v1", "Deployment", "deployments", true),
        ("apps", "v1", "ReplicaSet", "replicasets", true),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
            true,
        ),
        (
            "policy",
            "v1",
            "PodDisruptionBudget",
            "poddisruptionbudgets",
            true,
        ),
        (
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            "networkpolicies",
            true,
        ),
        ("networking.k8s.io", "v1", "Ingress", "ingresses", true),
    ];
    for (g, v, k, plural, namespaced) in kinds {
        let gvk = GroupVersionKind::gvk(g, v, k);
        let (ar, caps) = discovery::pinned_kind(&c, &gvk)
            .await
            .unwrap_or_else(|e| panic!("{k}: {e}"));
        assert_eq!(ar.plural, plural);
        assert_eq!(caps.scope == Scope::Namespaced, namespaced, "{k}");
        assert!(
            caps.supports_operation("patch") && caps.supports_operation("watch"),
            "{k}"
        );
        let (ar2, _) = d
            .resolve_gvk(&gvk)
            .unwrap_or_else(|| panic!("Discovery::run misses {k}"));
        assert_eq!(ar2.plural, plural);
    }
    let agg = Discovery::new(c.clone()).run_aggregated().await.unwrap();
    for (g, v, k, plural, namespaced) in kinds {
        let (ar, caps) = agg
            .resolve_gvk(&GroupVersionKind::gvk(g, v, k))
            .unwrap_or_else(|| panic!("run_aggregated misses {k}"));
        assert_eq!(ar.plural, plural);
        assert_eq!(caps.scope == Scope::Namespaced, namespaced, "{k}");
    }
    let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
    let (code, _, _) = api_error(discovery::pinned_kind(&c, &gvk).await.unwrap_err());
    assert_eq!(code, 404);
    let (code, body) = raw(&srv, "GET", "/apis/apps/v2", &[], "");
    assert_eq!((code, body["reason"].as_str()), (404, Some("NotFound")));
}

#[tokio::test]
async fn apply_create_noop_and_change() {
    let srv = shop_server();
    let c = client(&srv);
    let body = deployment("web", "web:1", 2).to_string();
    let path = "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=gen";
    let ct = [("Content-Type", "application/apply-patch+yaml")];
    let (code, created) = raw(&srv, "PATCH", path, &ct, &body);
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["generation"], 1);
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mf = &created["metadata"]["managedFields"];
    assert_eq!(mf[0]["manager"], "gen");
    assert_eq!(mf[0]["operation"], "Apply");
    assert_eq!(mf[0]["fieldsV1"]["f:spec"]["f:replicas"], json!({}));
    assert_eq!(
        mf[0]["fieldsV1"]["f:metadata"]["f:labels"]["f:app"],
        json!({})
    );

    // Identical re-apply: a no-op.
    let again = apply_dep(&c, &deployment("web", "web:1", 2)).await.unwrap();
    assert_eq!(again.resource_version().as_deref(), Some(rv.as_str()));
    assert_eq!(again.metadata.generation, Some(1));
    let (code, _) = raw(&srv, "PATCH", path, &ct, &body);
    assert_eq!(code, 200);

    // A change bumps generation and resourceVersion.
    let changed = apply_dep(&c, &deployment("web", "web:1", 3)).await.unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    assert_ne!(changed.resource_version().as_deref(), Some(rv.as_str()));
    assert_eq!(changed.spec.unwrap().replicas, Some(3));

    // A label change alone does not bump generation.
    let mut relabel = deployment("web", "web:1", 3);
    relabel["metadata"]["labels"]["tier"] = json!("front");
    let relabelled = apply_dep(&c, &relabel).await.unwrap();
    assert_eq!(relabelled.metadata.generation, Some(2));
    // Dropping the label from the applied config removes it (owned only by gen).
    let dropped = apply_dep(&c, &deployment("web", "web:1", 3)).await.unwrap();
    assert_eq!(dropped.labels().get("tier"), None);

    // Requests are recorded with what kube sent.
    let reqs = srv.requests();
    let last = reqs.last().unwrap();
    assert_eq!(last.method, "PATCH");
    assert_eq!(
        last.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert_eq!(last.param("fieldManager"), Some("gen"));
    assert_eq!(last.body.as_ref().unwrap()["spec"]["replicas"], 3);

    // Services get a clusterIP once.
    let svc: Api<Service> = Api::namespaced(c.clone(), "shop");
    let s = json!({ "apiVersion": "v1", "kind": "Service", "metadata": { "name": "web", "namespace": "shop" }, "spec": { "ports": [{ "port": 80 }] } });
    let first = svc
        .patch("web", &PatchParams::apply("gen"), &Patch::Apply(&s))
        .await
        .unwrap();
    let ip = first.spec.clone().unwrap().cluster_ip.unwrap();
    assert!(ip.starts_with("10.43.0."), "{ip}");
    let second = svc
        .patch("web", &PatchParams::apply("gen"), &Patch::Apply(&s))
        .await
        .unwrap();
    assert_eq!(
        second.spec.clone().unwrap().cluster_ip.as_deref(),
        Some(ip.as_str())
    );
    assert_eq!(second.resource_version(), first.resource_version());
}

#[tokio::test]
async fn apply_request_errors() {
    let srv = shop_server();
    let ct = [("Content-Type", "application/apply-patch+yaml")];
    let body = deployment("web", "web:1", 1).to_string();
    let (code, s) = raw(
        &srv,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web",
        &ct,
        &body,
    );
    assert_eq!(code, 400);
    assert_eq!(
        s["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    let (code, _) = raw(
        &srv,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/other?fieldManager=gen",
        &ct,
        &body,
    );
    assert_eq!(code, 400);
    let (code, s) = raw(
        &srv,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=gen",
        &[("Content-Type", "text/plain")],
        &body,
    );
    assert_eq!(
        (code, s["reason"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );
    let (code, _) = raw(
        &srv,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=gen",
        &ct,
        "{not yaml: [",
    );
    assert_eq!(code, 400);
    let mut bad = deployment("web", "web:1", 1);
    bad["spec"]["template"] = json!("nope");
    let (code, s) = raw(
        &srv,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=gen",
        &ct,
        &bad.to_string(),
    );
    assert_eq!((code, s["reason"].as_str()), (422, Some("Invalid")));
    // YAML bodies work too.
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  namespace: shop\ndata:\n  port: \"80\"\n";
    let (code, cm) = raw(
        &srv,
        "PATCH",
        "/api/v1/namespaces/shop/configmaps/y?fieldManager=gen",
        &ct,
        yaml,
    );
    assert_eq!(code, 201);
    assert_eq!(cm["data"]["port"], "80");
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "web")
        .is_none());
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let srv = shop_server();
    let c = client(&srv);
    let api: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    let pp = PatchParams::apply("gen").dry_run();
    let dry = api
        .patch("web", &pp, &Patch::Apply(deployment("web", "web:1", 1)))
        .await
        .unwrap();
    assert_eq!(dry.metadata.generation, Some(1));
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "web")
        .is_none());
    assert_eq!(srv.objects().len(), 5, "only the namespaces");

    let live = apply_dep(&c, &deployment("web", "web:1", 1)).await.unwrap();
    let dry = api
        .patch("web", &pp, &Patch::Apply(deployment("web", "web:2", 1)))
        .await
        .unwrap();
    assert_eq!(dry.metadata.generation, Some(2));
    assert_eq!(dry.resource_version(), live.resource_version());
    let stored = srv
        .get("apps/v1", "Deployment", Some("shop"), "web")
        .unwrap();
    assert_eq!(stored["metadata"]["generation"], 1);
    assert_eq!(
        stored["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:1"
    );
    let rs: Api<ReplicaSet> = Api::namespaced(c.clone(), "shop");
    assert_eq!(
        rs.list(&ListParams::default()).await.unwrap().items.len(),
        1
    );

    // Dry-run delete keeps the object.
    api.delete(
        "web",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(srv
        .get("apps/v1", "Deployment", Some("shop"), "web")
        .is_some());
}

#[tokio::test]
async fn conflicts_and_force() {
    let srv = shop_server();
    let c = client(&srv);
    let api: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    apply_dep(&c, &deployment("web", "web:1", 2)).await.unwrap();
    // Someone edits replicas and a label with a non-apply patch.
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    api.patch(
        "web",
        &edit,
        &Patch::Merge(
            json!({ "metadata": { "labels": { "app": "edited" } }, "spec": { "replicas": 5 } }),
        ),
    )
    .await
    .unwrap();

    let err = apply_dep(&c, &deployment("web", "web:1", 2))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("expected API error")
    };
    assert_eq!(status.code, 409);
    assert_eq!(status.reason, "Conflict");
    assert_eq!(
        status.message,
        "Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using apps/v1:\n- .metadata.labels.app\n- .spec.replicas"
    );
    let causes = status.details.unwrap().causes;
    assert_eq!(causes.len(), 2);
    assert_eq!(causes[1].reason, "FieldManagerConflict");
    assert_eq!(
        causes[1].message,
        "conflict with \"kubectl-edit\" using apps/v1"
    );
    assert_eq!(causes[1].field, ".spec.replicas");

    // Applying the *current* value is not a conflict (shared ownership).
    let mut same = deployment("web", "web:1", 5);
    same["metadata"]["labels"]["app"] = json!("edited");
    apply_dep(&c, &same).await.unwrap();

    // Force takes ownership.
    let forced = api
        .patch(
            "web",
            &PatchParams::apply("gen").force(),
            &Patch::Apply(deployment("web", "web:1", 2)),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.unwrap().replicas, Some(2));
    let edit_entry = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .find(|m| m.manager.as_deref() == Some("kubectl-edit"));
    assert!(edit_entry.is_none(), "kubectl-edit lost all its fields");

    // A single conflict with an apply manager (seeded).
    srv.insert(json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "cfg", "namespace": "shop" }, "data": { "a": "1" } }), "helm");
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "shop");
    let cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "cfg", "namespace": "shop" }, "data": { "a": "2" } });
    let (code, reason, message) = api_error(
        cms.patch("cfg", &PatchParams::apply("gen"), &Patch::Apply(&cm))
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Apply failed with 1 conflict: conflict with \"helm\": .data.a"
    );
}

#[tokio::test]
async fn missing_namespace_is_404() {
    let srv = ApiServer::start();
    let c = client(&srv);
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "nope");
    let cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "cfg", "namespace": "nope" } });
    let (code, reason, message) = api_error(
        cms.patch("cfg", &PatchParams::apply("gen"), &Patch::Apply(&cm))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (404, "NotFound", "namespaces \"nope\" not found")
    );
    let (code, _, message) = api_error(cms.get("cfg").await.unwrap_err());
    assert_eq!(
        (code, message.as_str()),
        (404, "configmaps \"cfg\" not found")
    );
    let deps: Api<Deployment> = Api::namespaced(c.clone(), "nope");
    let (code, body) = raw(
        &srv,
        "GET",
        "/apis/apps/v1/namespaces/nope/deployments/x",
        &[],
        "",
    );
    assert_eq!(code, 404);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"x\" not found","reason":"NotFound","details":{"name":"x","group":"apps","kind":"deployments"},"code":404})
    );
    assert!(deps
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn lists_with_selectors_and_delete() {
    let srv = ApiServer::start();
    let c = client(&srv);
    for ns in ["a", "b"] {
        srv.insert(ns_obj(ns), "gen");
    }
    for (ns, name, tier) in [
        ("a", "one", "web"),
        ("a", "two", "db"),
        ("b", "three", "web"),
        ("b", "four", ""),
    ] {
        let mut cm = json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": name, "namespace": ns, "labels": { "app": "shop" } } });
        if !tier.is_empty() {
            cm["metadata"]["labels"]["tier"] = json!(tier);
        }
        srv.insert(cm, "gen");
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| {
        l.items.iter().map(|o| o.name_any()).collect::<Vec<_>>()
    };
    let all: Api<ConfigMap> = Api::all(c.clone());
    let list = all.list(&ListParams::default()).await.unwrap();
    assert_eq!(names(list), ["one", "two", "four", "three"]);
    for (sel, want) in [
        ("tier=web", vec!["one", "three"]),
        ("tier==web", vec!["one", "three"]),
        ("tier!=web", vec!["two", "four"]),
        ("tier", vec!["one", "two", "three"]),
        ("!tier", vec!["four"]),
        ("tier in (db,web),app=shop", vec!["one", "two", "three"]),
        ("tier notin (web)", vec!["two", "four"]),
    ] {
        let l = all.list(&ListParams::default().labels(sel)).await.unwrap();
        assert_eq!(names(l), want, "{sel}");
    }
    let a: Api<ConfigMap> = Api::namespaced(c.clone(), "a");
    let l = a
        .list(&ListParams::default().fields("metadata.name=two"))
        .await
        .unwrap();
    assert_eq!(names(l), ["two"]);
    let l = a.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        l.metadata
            .resource_version
            .as_deref()
            .map(|v| v.parse::<u64>().unwrap() > 1),
        Some(true)
    );
    let (code, _, _) = api_error(
        all.list(&ListParams::default().labels("tier in web"))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400);
    let (code, _, _) = api_error(
        all.list(&ListParams::default().fields("data.x=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 400);

    // Delete one; then a namespace takes its objects with it.
    a.delete("one", &DeleteParams::default()).await.unwrap();
    let (code, _, _) = api_error(a.get("one").await.unwrap_err());
    assert_eq!(code, 404);
    let (code, _, _) = api_error(a.delete("one", &DeleteParams::default()).await.unwrap_err());
    assert_eq!(code, 404);
    let nss: Api<Namespace> = Api::all(c.clone());
    nss.delete("b", &DeleteParams::default()).await.unwrap();
    let left: Vec<String> = srv
        .objects()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        left,
        [
            "two",
            "a",
            "default",
            "kube-node-lease",
            "kube-public",
            "kube-system"
        ]
    );
    let default = srv.get("v1", "Namespace", None, "default").unwrap();
    assert_eq!(
        default["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "default"
    );
}

#[tokio::test]
async fn replicasets_follow_template_changes() {
    let srv = shop_server();
    let c = client(&srv);
    let rs_api: Api<ReplicaSet> = Api::namespaced(c.clone(), "shop");
    let api: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    let d1 = apply_dep(&c, &deployment("web", "web:1", 2)).await.unwrap();
    assert_eq!(
        d1.annotations()
            .get("deployment.kubernetes.io/revision")
            .map(String::as_str),
        Some("1")
    );
    let rss = rs_api.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(rss.len(), 1);
    let first = rss[0].clone();
    let hash = first.labels()["pod-template-hash"].clone();
    assert_eq!(first.name_any(), format!("web-{hash}"));
    assert_eq!(hash.len(), 10);
    let owner = &first.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("Deployment", "web", Some(true))
    );
    assert_eq!(owner.uid, d1.uid().unwrap());
    let spec = first.spec.clone().unwrap();
    assert_eq!(spec.replicas, Some(2));
    assert_eq!(
        spec.selector.match_labels.unwrap()["pod-template-hash"],
        hash
    );
    assert_eq!(
        spec.template.unwrap().metadata.unwrap().labels.unwrap()["pod-template-hash"],
        hash
    );

    // Replicas-only change: same ReplicaSet.
    apply_dep(&c, &deployment("web", "web:1", 3)).await.unwrap();
    assert_eq!(
        rs_api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // New image: a second ReplicaSet, revision 2, the old one scaled to 0.
    let d2 = apply_dep(&c, &deployment("web", "web:2", 3)).await.unwrap();
    assert_eq!(d2.annotations()["deployment.kubernetes.io/revision"], "2");
    let rss = rs_api.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(rss.len(), 2);
    let old = rs_api.get(&first.name_any()).await.unwrap();
    assert_eq!(old.spec.unwrap().replicas, Some(0));
    let new = rss
        .iter()
        .find(|r| r.name_any() != first.name_any())
        .unwrap();
    assert_eq!(new.annotations()["deployment.kubernetes.io/revision"], "2");

    // Rollback (merge patch of the old template): reuses the first ReplicaSet as revision 3.
    let old_template = deployment("web", "web:1", 3)["spec"]["template"].clone();
    let rolled = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": { "template": old_template } })),
        )
        .await
        .unwrap();
    assert_eq!(
        rolled.annotations()["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(rolled.metadata.generation, Some(4));
    let rss = rs_api.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(rss.len(), 2);
    let reused = rs_api.get(&first.name_any()).await.unwrap();
    assert_eq!(
        reused.annotations()["deployment.kubernetes.io/revision"],
        "3"
    );
    assert_eq!(reused.spec.unwrap().replicas, Some(3));

    // JSON patch works too (test + replace).
    let passing = r#"[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":1}]"#;
    let failing = r#"[{"op":"test","path":"/spec/replicas","value":99}]"#;
    let (code, body) = raw(
        &srv,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web",
        &[("Content-Type", "application/json-patch+json")],
        passing,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["spec"]["replicas"], 1);
    let (code, body) = raw(
        &srv,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web",
        &[("Content-Type", "application/json-patch+json")],
        failing,
    );
    assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));

    // The selector is immutable and must match the template labels.
    let mut moved = deployment("web", "web:1", 1);
    moved["spec"]["selector"]["matchLabels"]["app"] = json!("other");
    moved["spec"]["template"]["metadata"]["labels"]["app"] = json!("other");
    let (code, _, message) = api_error(apply_dep(&c, &moved).await.unwrap_err());
    assert_eq!(code, 422);
    assert!(
        message.contains("spec.selector: Invalid value: field is immutable"),
        "{message}"
    );
    let mut mismatch = deployment("web2", "web:1", 1);
    mismatch["spec"]["template"]["metadata"]["labels"]["app"] = json!("other");
    let (code, _, _) = api_error(apply_dep(&c, &mismatch).await.unwrap_err());
    assert_eq!(code, 422);

    // Deleting the Deployment deletes its ReplicaSets.
    api.delete("web", &DeleteParams::default()).await.unwrap();
    assert!(rs_api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn watch_sees_rollout_become_ready() {
    let srv = shop_server();
    srv.set_rollout(
        "web",
        Rollout::Ready {
            after: Duration::from_millis(100),
        },
    );
    let c = client(&srv);
    let api: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    let created = apply_dep(&c, &deployment("web", "web:1", 2)).await.unwrap();
    let status = created.status.clone().unwrap();
    assert_eq!(
        (
            status.observed_generation,
            status.replicas,
            status.updated_replicas
        ),
        (Some(1), Some(2), Some(0))
    );
    let progressing = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_deref()),
        ("True", Some("ReplicaSetUpdated"))
    );

    let wp = WatchParams::default()
        .fields("metadata.name=web")
        .timeout(5);
    let mut stream = Box::pin(api.watch(&wp, "0").await.unwrap());
    let mut seen = Vec::new();
    let ready = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(ev) = stream.try_next().await.unwrap() {
            match ev {
                WatchEvent::Added(d) | WatchEvent::Modified(d) => {
                    seen.push(if seen.is_empty() { "ADDED" } else { "MODIFIED" });
                    let s = d.status.clone().unwrap_or_default();
                    if s.available_replicas == Some(2) {
                        return d;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        panic!("watch ended before the rollout was ready");
    })
    .await
    .expect("ready within 5 s");
    assert_eq!(seen, ["ADDED", "MODIFIED"]);
    let s = ready.status.unwrap();
    assert_eq!(
        (s.updated_replicas, s.ready_replicas, s.replicas),
        (Some(2), Some(2), Some(2))
    );
    let conds = s.conditions.unwrap();
    let avail = conds.iter().find(|c| c.type_ == "Available").unwrap();
    assert_eq!(
        (avail.status.as_str(), avail.reason.as_deref()),
        ("True", Some("MinimumReplicasAvailable"))
    );
    let prog = conds.iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!(prog.reason.as_deref(), Some("NewReplicaSetAvailable"));

    // Watching from a resourceVersion replays only later changes.
    let rv = ready.metadata.resource_version.unwrap();
    let mut stream = Box::pin(
        api.watch(&WatchParams::default().timeout(2), &rv)
            .await
            .unwrap(),
    );
    apply_dep(&c, &deployment("web", "web:1", 2)).await.unwrap(); // no-op: no event
    let edit = PatchParams {
        field_manager: Some("ops".into()),
        ..Default::default()
    };
    api.patch(
        "web",
        &edit,
        &Patch::Merge(json!({ "metadata": { "labels": { "x": "y" } } })),
    )
    .await
    .unwrap();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Modified(d)) => assert_eq!(d.labels()["x"], "y"),
        other => panic!("unexpected {other:?}"),
    }
    api.delete("web", &DeleteParams::default()).await.unwrap();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Deleted(d)) => assert_eq!(d.name_any(), "web"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn stuck_rollout_creates_failing_pods_and_events() {
    let srv = shop_server();
    srv.set_rollout(
        "api",
        Rollout::Stuck {
            reason: "ImagePullBackOff",
            message: "Back-off pulling image \"api:404\"",
        },
    );
    let c = client(&srv);
    let dep = apply_dep(&c, &deployment("api", "api:404", 2))
        .await
        .unwrap();
    let s = dep.status.unwrap();
    assert_eq!(
        (s.updated_replicas, s.available_replicas),
        (Some(2), Some(0))
    );

    let pods: Api<Pod> = Api::namespaced(c.clone(), "shop");
    let list = pods
        .list(&ListParams::default().labels("app=api"))
        .await
        .unwrap()
        .items;
    assert_eq!(list.len(), 2);
    let pod = &list[0];
    assert!(pod.name_any().ends_with("-abcde"), "{}", pod.name_any());
    let ps = pod.status.clone().unwrap();
    let ready = ps
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.status, "False");
    let waiting = ps.container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("ImagePullBackOff"));
    assert_eq!(
        waiting.message.as_deref(),
        Some("Back-off pulling image \"api:404\"")
    );

    let events: Api<Event> = Api::namespaced(c.clone(), "shop");
    let sel = format!(
        "involvedObject.name={},involvedObject.kind=Pod",
        pod.name_any()
    );
    let evs = events
        .list(&ListParams::default().fields(&sel))
        .await
        .unwrap()
        .items;
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].type_.as_deref(), Some("Warning"));
    assert_eq!(evs[0].reason.as_deref(), Some("Failed"));
    assert_eq!(
        evs[0].message.as_deref(),
        Some("Back-off pulling image \"api:404\"")
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let api: Api<Deployment> = Api::namespaced(c.clone(), "shop");
    let d = api.get("api").await.unwrap();
    let prog = d
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Progressing")
        .unwrap();
    assert_eq!(
        (prog.status.as_str(), prog.reason.as_deref()),
        ("False", Some("ProgressDeadlineExceeded"))
    );
    assert!(prog
        .message
        .unwrap()
        .ends_with("has timed out progressing."));
    let dep_events = events
        .list(
            &ListParams::default().fields("involvedObject.kind=Deployment,involvedObject.name=api"),
        )
        .await
        .unwrap();
    assert_eq!(dep_events.items.len(), 1);
}

#[tokio::test]
async fn token_is_required_when_set() {
    let srv = ApiServer::start();
    srv.require_token(Some("secret-token"));
    let c = client(&srv);
    let (code, reason, message) = api_error(
        Api::<Namespace>::all(c)
            .list(&ListParams::default())
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (code, reason.as_str(), message.as_str()),
        (401, "Unauthorized", "Unauthorized")
    );
    let (code, _) = raw(
        &srv,
        "GET",
        "/api/v1/namespaces",
        &[("Authorization", "Bearer wrong")],
        "",
    );
    assert_eq!(code, 401);
    let (code, body) = raw(
        &srv,
        "GET",
        "/api/v1/namespaces",
        &[("Authorization", "Bearer secret-token")],
        "",
    );
    assert_eq!((code, body["kind"].as_str()), (200, Some("NamespaceList")));
    assert_eq!(
        srv.requests()[2].authorization.as_deref(),
        Some("Bearer secret-token")
    );
}

#[tokio::test]
async fn latency_delays_responses() {
    let srv = ApiServer::start();
    srv.set_latency(Duration::from_millis(400));
    let mut config = Config::new(srv.url().parse().unwrap());
    config.read_timeout = Some(Duration::from_millis(100));
    let c = Client::try_from(config).unwrap();
    let err = Api::<Namespace>::all(c)
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "expected a timeout, got {err:?}"
    );
    srv.set_latency(Duration::ZERO);
    let (code, _) = raw(&srv, "GET", "/version", &[], "");
    assert_eq!(code, 200);
    assert_eq!(srv.requests().len(), 2);
}

#[tokio::test]
async fn post_put_and_generic_watch() {
    let srv = shop_server();
    let c = client(&srv);
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "shop");
    let cm: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "cfg", "namespace": "shop" },
        "data": { "a": "1" }
    }))
    .unwrap();
    let mut wstream = Box::pin(
        cms.watch(&WatchParams::default().timeout(2), "0")
            .await
            .unwrap(),
    );
    let created = cms.create(&Default::default(), &cm).await.unwrap();
    assert_eq!(
        created.metadata.generation, None,
        "core kinds have no generation"
    );
    let mf = created.metadata.managed_fields.clone().unwrap();
    assert_eq!(mf[0].operation.as_deref(), Some("Update"));
    let (code, _, _) = api_error(cms.create(&Default::default(), &cm).await.unwrap_err());
    assert_eq!(code, 409);

    let mut changed = created.clone();
    changed
        .data
        .as_mut()
        .unwrap()
        .insert("a".into(), "2".into());
    let replaced = cms
        .replace("cfg", &Default::default(), &changed)
        .await
        .unwrap();
    assert_eq!(replaced.data.unwrap()["a"], "2");
    // The stale resourceVersion is now rejected.
    let (code, reason, _) = api_error(
        cms.replace("cfg", &Default::default(), &changed)
            .await
            .unwrap_err(),
    );
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    let (code, _, _) = api_error(
        cms.replace("nope", &Default::default(), &{
            let mut n = cm.clone();
            n.metadata.name = Some("nope".into());
            n
        })
        .await
        .unwrap_err(),
    );
    assert_eq!(code, 404);

    let mut kinds = Vec::new();
    for _ in 0..2 {
        match wstream.try_next().await.unwrap() {
            Some(WatchEvent::Added(o)) => kinds.push(("ADDED", o.data.unwrap()["a"].clone())),
            Some(WatchEvent::Modified(o)) => kinds.push(("MODIFIED", o.data.unwrap()["a"].clone())),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        kinds,
        [("ADDED", "1".to_string()), ("MODIFIED", "2".to_string())]
    );
}
