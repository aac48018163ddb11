use crate::catalog::types::Colour;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::{Image, StrategyModel};

/// Blue-green with one image on both colours has nothing to switch to.
pub static RULE: Rule = Rule {
    id: "blue-green-same-image",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "blue-green service runs the same image on both colours",
    what: "A blue-green service's blue and green tracks run the same image: \
`blue_image` and `green_image` are equal, or one or both are unset and so \
default to `image`.",
    why: "Blue-green keeps the previous (or next) version running on the idle \
colour so that switching `live` is an instant release or rollback. With the \
same image on both colours, switching changes nothing and the service runs \
twice the pods for no benefit. That is the normal state right after a \
release has been confirmed, but then the idle colour is due for the next \
version.",
    example: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    strategy:\n      type: blue-green\n      live: blue\n      blue_image: ghcr.io/shop/api:1.0.0\n      green_image: ghcr.io/shop/api:1.0.0 # <-\n",
    fix: "Set the idle colour's image (`green_image` when `live: blue`, \
`blue_image` when `live: green`) to the next version to release, or switch \
the service to `type: rolling` if it does not need instant switching.",
    passing: "version: 1\nproject: shop\nservices:\n  api:\n    image: ghcr.io/shop/api:1.0.0\n    port: 8080\n    replicas: 2\n    strategy:\n      type: blue-green\n      live: blue\n      blue_image: ghcr.io/shop/api:1.0.0\n      green_image: ghcr.io/shop/api:1.1.0\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let StrategyModel::BlueGreen { live, blue, green } = &s.strategy else {
            continue;
        };
        if !same(blue, green) {
            continue;
        }
        // The idle colour is the one to change; point at its image if written.
        let (idle, other) = match live {
            Colour::Blue => ("green_image", "blue_image"),
            Colour::Green => ("blue_image", "green_image"),
        };
        let written = |key| {
            super::written::own(cx, &s.name, "strategy", key)
                .then(|| super::svc_key(&s.name, "strategy") + "/" + key)
        };
        let hit = match written(idle).or_else(|| written(other)) {
            Some(at) => Hit::at(at, message(&s.name, blue)),
            None => Hit::at_key(
                super::written::block(cx, &s.name, "strategy"),
                message(&s.name, blue),
            ),
        };
        out.push(hit);
    }
}

fn same(a: &Image, b: &Image) -> bool {
    match (&a.digest, &b.digest) {
        (Some(x), Some(y)) => a.repository == b.repository && x == y,
        _ => a.repository == b.repository && a.tag == b.tag && a.digest == b.digest,
    }
}

fn message(name: &str, image: &Image) -> String {
    format!("`{name}` runs `{image}` on both blue and green, so switching `live` changes nothing")
}
