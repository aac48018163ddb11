//! Properties of the charts that golden trees cannot show: what changes
//! between two catalogs that differ in one fact.

use serde_json::Value;

fn objects(catalog: &str) -> Vec<Value> {
    let compiled = gen::compile("catalog.yaml", catalog.as_bytes()).unwrap();
    let model = &compiled.model;
    let values = gen::emit::helm::Values::all(model);
    let svc = &model.services[0];
    let release = gen::emit::manifests::Release {
        chart: &svc.name,
        version: gen::emit::helm::CHART_VERSION,
        name: &svc.name,
        namespace: &svc.namespace,
    };
    gen::emit::manifests::render(&values[0], &release)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

const HEAD: &str = "version: 1\nproject: shop\ningress: {host: shop.example}\nservices:\n  api:\n    image: r.example/api:1.0.0\n    port: 8080\n    replicas: 3\n    routes: [/api]\n";

/// A Deployment's selector is immutable: starting or promoting a canary must
/// not change the selector of the service's main Deployment.
#[test]
fn rolling_and_canary_share_the_main_deployment_selector() {
    let rolling = objects(HEAD);
    let canary = objects(&format!(
        "{HEAD}    strategy: {{type: canary, canary_image: r.example/api:1.1.0, canary_weight: 10}}\n"
    ));
    let sel = |objs: &[Value]| find(objs, "Deployment", "api")["spec"]["selector"].clone();
    assert_eq!(sel(&rolling), sel(&canary));
    // ...and the Service keeps sending traffic to the same pods.
    let svc_sel = |objs: &[Value]| find(objs, "Service", "api")["spec"]["selector"].clone();
    assert_eq!(svc_sel(&rolling), svc_sel(&canary));
    // The canary is a separate Deployment with its own track.
    assert_eq!(
        find(&canary, "Deployment", "api-canary")["spec"]["selector"]["matchLabels"]
            ["gen.dev/track"],
        "canary"
    );
}

/// Switching blue-green colours changes only selectors of the Service and
/// the PodDisruptionBudget, never a Deployment's.
#[test]
fn a_colour_switch_changes_no_deployment_selector() {
    let bg = |live: &str| {
        objects(&format!(
            "{HEAD}    strategy: {{type: blue-green, live: {live}, green_image: r.example/api:1.1.0}}\n"
        ))
    };
    let (blue, green) = (bg("blue"), bg("green"));
    for name in ["api-blue", "api-green"] {
        assert_eq!(
            find(&blue, "Deployment", name)["spec"]["selector"],
            find(&green, "Deployment", name)["spec"]["selector"]
        );
    }
    assert_eq!(
        find(&green, "Service", "api")["spec"]["selector"]["gen.dev/track"],
        "green"
    );
}

/// The pods of one service reach each other; a caller reaches the callee's
/// port; nothing else is open inward.
#[test]
fn network_policy_allows_own_pods_and_declared_callers_only() {
    let objs = objects(&format!(
        "{HEAD}  web:\n    image: r.example/web:1.0.0\n    port: 3000\n    calls: [api]\n"
    ));
    let np = find(&objs, "NetworkPolicy", "api");
    let ingress = np["spec"]["ingress"].as_array().unwrap();
    // own pods, ingress controller, the caller `web`
    assert_eq!(ingress.len(), 3, "{ingress:#?}");
    assert!(ingress[0]["ports"].is_null());
    let callers = &ingress[2]["from"];
    assert_eq!(
        callers[0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
        "web"
    );
    assert_eq!(ingress[2]["ports"][0]["port"], 8080);
}

/// On EKS the ALB carries gen's load balancer security group (by Name tag),
/// whose flows open the pods' ports, so the controller must not manage the
/// backend rules; with `class: alb` that ALB is the load balancer whether or
/// not `cluster.aws.load_balancer` says so. K3s's ALB keeps the
/// controller's own groups (gen's flows there reach the nodes' host ports).
#[test]
fn the_eks_alb_carries_gens_load_balancer_group() {
    let catalog = |cluster: &str, lb: &str| {
        format!(
            "version: 1\nproject: shop\ningress: {{host: shop.example, class: alb}}\ncluster:\n{cluster}  aws: {{region: eu-west-1, vpc_cidr: 10.0.0.0/16, admin_cidrs: [198.51.100.0/24], zones: [eu-west-1a, eu-west-1b]{lb}}}\nservices:\n  api: {{image: r.example/api:1.0.0, port: 8080, routes: [/api]}}\n"
        )
    };
    let eks = "  eks: {version: '1.34', node_groups: {general: {instance_types: [m6i.large], min: 2, desired: 2, max: 4}}}\n";
    let k3s = "  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n";
    let ann = |src: &str| find(&objects(src), "Ingress", "api")["metadata"]["annotations"].clone();
    for lb in [", load_balancer: alb", ""] {
        let on_eks = ann(&catalog(eks, lb));
        assert_eq!(
            on_eks["alb.ingress.kubernetes.io/security-groups"], "shop-load-balancer",
            "{lb}"
        );
        assert_eq!(
            on_eks["alb.ingress.kubernetes.io/manage-backend-security-group-rules"], "false",
            "{lb}"
        );
    }
    {
        let other = catalog(k3s, ", load_balancer: alb");
        let a = ann(&other);
        assert_eq!(a["alb.ingress.kubernetes.io/target-type"], "ip", "{other}");
        assert!(
            a.get("alb.ingress.kubernetes.io/security-groups").is_none(),
            "{other}"
        );
        assert!(
            a.get("alb.ingress.kubernetes.io/manage-backend-security-group-rules")
                .is_none(),
            "{other}"
        );
    }
}
