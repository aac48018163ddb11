//! The directories a service mounts: its persistent `volumes` (which make
//! it a StatefulSet) and its `writable` empty directories, checked against
//! each other, against the `/tmp` gen always mounts, and against the
//! strategies a StatefulSet cannot run.

use crate::catalog::types::{Catalog, Service, StrategyType};
use crate::catalog::{push_pointer, Parsed};
use crate::diag::Problem;

use super::{mount_name, quantity};

/// The path gen mounts an empty directory at in every pod.
pub const TMP: &str = "/tmp";

/// One mount of a service as written.
struct Mount<'a> {
    path: &'a str,
    pointer: String,
    what: &'static str,
}

/// Why `path` is not a mount path, or None when it is one.
fn malformed(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("is not absolute");
    }
    if path == "/" {
        return Some("is the root directory, which must stay read-only");
    }
    if path.ends_with('/') {
        return Some("ends with `/`");
    }
    let parts = path.split('/').skip(1);
    for part in parts {
        match part {
            "" => return Some("has an empty segment (`//`)"),
            "." | ".." => return Some("has a `.` or `..` segment"),
            _ => {}
        }
    }
    None
}

/// Whether `inner` is `outer` or lies under it.
fn within(inner: &str, outer: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Every problem of the services' mounts.
pub fn check(parsed: &Parsed) -> Vec<Problem> {
    let mut out = Vec::new();
    let c = &parsed.catalog;
    for (name, s) in &c.services {
        let sp = push_pointer("/services", name);
        service(parsed, &mut out, c, &sp, s);
    }
    out
}

fn service(parsed: &Parsed, out: &mut Vec<Problem>, c: &Catalog, sp: &str, s: &Service) {
    let spans = &parsed.spans;
    let src = &parsed.source;
    let at = |k: &str| push_pointer(sp, k);
    let mut mounts: Vec<Mount> = Vec::new();
    for (i, v) in s.volumes.iter().enumerate() {
        let vp = push_pointer(&at("volumes"), &i.to_string());
        if quantity::value(&v.size.0).is_some_and(|n| n <= 0.0) {
            out.push(
                Problem::new(
                    src,
                    "catalog::volume-size",
                    spans.value(&push_pointer(&vp, "size")),
                    format!("volume `{}` has size {}", v.path, v.size),
                )
                .label("an empty claim")
                .help("give the size the data needs, e.g. `size: 10Gi`"),
            );
        }
        mounts.push(Mount {
            path: &v.path,
            pointer: push_pointer(&vp, "path"),
            what: "volume",
        });
    }
    for (i, w) in s.writable.iter().enumerate() {
        mounts.push(Mount {
            path: w,
            pointer: push_pointer(&at("writable"), &i.to_string()),
            what: "writable path",
        });
    }
    let refuse =
        |m: &Mount, code, msg: String| Problem::new(src, code, spans.value(&m.pointer), msg);
    let mut good: Vec<&Mount> = Vec::new();
    for m in &mounts {
        if let Some(why) = malformed(m.path) {
            out.push(
                refuse(
                    m,
                    "catalog::mount-path",
                    format!("{} `{}` {why}", m.what, m.path),
                )
                .label("not a mount path")
                .help("write an absolute directory such as `/data` or `/var/lib/grafana`"),
            );
            continue;
        }
        if within(m.path, TMP) || within(TMP, m.path) {
            out.push(
                refuse(
                    m,
                    "catalog::mount-overlap",
                    format!("{} `{}` overlaps `/tmp`, which gen mounts as an empty directory in every pod", m.what, m.path),
                )
                .label("overlaps /tmp")
                .help("/tmp is already writable: drop this path, or pick one outside /tmp"),
            );
            continue;
        }
        let clash = good.iter().find(|g| {
            within(m.path, g.path)
                || within(g.path, m.path)
                || mount_name(g.path) == mount_name(m.path)
        });
        if let Some(g) = clash {
            let (code, msg, help) = if g.path == m.path {
                (
                    "catalog::mount-duplicate",
                    format!("`{}` is mounted twice", m.path),
                    "list each path once: as a `volumes` entry when its data must survive a restart, else in `writable`".to_owned(),
                )
            } else if within(m.path, g.path) || within(g.path, m.path) {
                (
                    "catalog::mount-overlap",
                    format!("{} `{}` and {} `{}` are nested", m.what, m.path, g.what, g.path),
                    "mount disjoint directories: one mount already makes everything under it writable".to_owned(),
                )
            } else {
                (
                    "catalog::mount-name",
                    format!(
                        "`{}` and `{}` both make the volume name `{}`",
                        m.path,
                        g.path,
                        mount_name(m.path)
                    ),
                    "volume names come from the path's letters and digits: rename one directory"
                        .to_owned(),
                )
            };
            out.push(
                refuse(m, code, msg)
                    .label(format!("clashes with {}", g.path))
                    .note(spans.value(&g.pointer), "first mounted here")
                    .help(help),
            );
            continue;
        }
        if mount_name(m.path) == "tmp" {
            out.push(
                refuse(
                    m,
                    "catalog::mount-name",
                    format!(
                        "`{}` makes the volume name `tmp`, which gen's /tmp volume has",
                        m.path
                    ),
                )
                .label("name taken")
                .help("rename the directory"),
            );
            continue;
        }
        good.push(m);
    }
    if s.volumes.is_empty() {
        return;
    }
    // A StatefulSet replaces one pod at a time: no surge, no budget.
    for key in ["max_surge", "max_unavailable"] {
        let set = s.strategy.as_ref().is_some_and(|st| match key {
            "max_surge" => st.max_surge.is_some(),
            _ => st.max_unavailable.is_some(),
        });
        if set {
            let k = push_pointer(&at("strategy"), key);
            out.push(
                Problem::new(src, "catalog::strategy-field", spans.key_or_value(&k), format!("`{key}` does not apply to a service with `volumes`"))
                    .label("ignored by a StatefulSet")
                    .note(spans.key_or_value(&at("volumes")), "volumes make it stateful")
                    .help(format!("remove `{key}`: a StatefulSet replaces its pods one at a time, each Ready before the next")),
            );
        }
    }
    // A StatefulSet has one set of pods: no second colour or canary track.
    let own = s.strategy.as_ref().and_then(|st| st.kind);
    let inherited = c
        .defaults
        .as_ref()
        .and_then(|d| d.strategy.as_ref())
        .and_then(|st| st.kind);
    let Some(kind) = own.or(inherited).filter(|k| *k != StrategyType::Rolling) else {
        return;
    };
    let where_ = if own.is_some() {
        push_pointer(&at("strategy"), "type")
    } else {
        "/defaults/strategy/type".to_owned()
    };
    let kind_name = if kind == StrategyType::Canary {
        "canary"
    } else {
        "blue-green"
    };
    out.push(
        Problem::new(
            src,
            "catalog::stateful-strategy",
            spans.value(&where_),
            format!("a service with `volumes` is a StatefulSet, which cannot run a {kind_name} strategy"),
        )
        .label("needs two sets of pods")
        .note(spans.key_or_value(&at("volumes")), "volumes make it stateful")
        .help("use `strategy: {type: rolling}` (ordered, one pod at a time), or move the data out of the service and drop `volumes`"),
    );
}

#[cfg(test)]
mod tests {
    use super::{malformed, within};

    #[test]
    fn paths() {
        assert_eq!(malformed("/data"), None);
        assert!(malformed("data").is_some());
        assert!(malformed("/").is_some());
        assert!(malformed("/a/").is_some());
        assert!(malformed("/a//b").is_some());
        assert!(malformed("/a/../b").is_some());
        assert!(within("/data/x", "/data"));
        assert!(within("/data", "/data"));
        assert!(!within("/database", "/data"));
    }
}
