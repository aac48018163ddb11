use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::Image;

/// Images pinned by tag only.
pub static RULE: Rule = Rule {
    id: "image-digest-preferred",
    severity: Severity::Info,
    scope: Scope::Workloads,
    summary: "image pinned by tag only, not by digest",
    what: "A service's `image`, or a `strategy.blue_image`, `green_image` or \
`canary_image`, has a tag but no `@sha256:` digest. Each such reference is \
reported where it is written. checkov reports the same as CKV_K8S_43.",
    why: "A tag is a movable name: whoever can push to the repository can \
point it at other content, by mistake (a rebuilt release) or on purpose (a \
compromised registry or CI job). Nodes that pull later, when a pod is \
rescheduled or the cluster scales out, then run code nobody reviewed, while \
the manifest still looks the same. A digest names exactly one image and \
cannot be moved. gen accepts tags that are unique per build, so this is only \
a recommendation.",
    example: "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0 # <-\n    port: 8080\n",
    fix: "Append the digest of the image you tested to the reference, keeping \
the tag for readers: `ghcr.io/shop/web:1.0.0@sha256:<digest>`. `crane digest \
ghcr.io/shop/web:1.0.0` or `docker buildx imagetools inspect` prints it; \
better, let CI write the digest it just pushed.",
    passing: "version: 1\nproject: shop\nservices:\n  web:\n    image: ghcr.io/shop/web:1.0.0@sha256:4f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b\n    port: 8080\n",
    params: &[],
    check,
};

/// Every image reference written for service `name`: (pointer, reference).
pub(super) fn images<'a>(cx: &'a Ctx, name: &str) -> Vec<(String, &'a str)> {
    let Some(s) = cx.parsed.catalog.services.get(name) else {
        return Vec::new();
    };
    let mut v = vec![(super::svc_key(name, "image"), s.image.as_str())];
    if let Some(st) = &s.strategy {
        let base = super::svc_key(name, "strategy");
        for (key, img) in [
            ("blue_image", &st.blue_image),
            ("green_image", &st.green_image),
            ("canary_image", &st.canary_image),
        ] {
            if let Some(i) = img {
                v.push((crate::catalog::push_pointer(&base, key), i.as_str()));
            }
        }
    }
    v
}

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        for (at, raw) in images(cx, &s.name) {
            let Ok(img) = Image::parse_syntax(raw) else {
                continue;
            };
            if let (Some(tag), None) = (&img.tag, &img.digest) {
                out.push(Hit::at(
                    at,
                    format!(
                        "`{raw}` of `{}` is pinned by the tag `{tag}` only, which can be moved to other content",
                        s.name
                    ),
                ));
            }
        }
    }
}
