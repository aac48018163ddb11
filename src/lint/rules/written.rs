//! Where a service's effective value was written: in the service's own block
//! or in `defaults` (section A rules point findings at that node).

use serde_json::Value;

use crate::catalog::push_pointer;
use crate::lint::Ctx;

/// The pointer of `<section>/<key>` where the effective value for service
/// `name` was written: the service's own `<section>` if it sets `key`, else
/// `defaults.<section>` if that sets it, else `None` (gen's built-in default
/// applies).
pub(super) fn origin(cx: &Ctx, name: &str, section: &str, key: &str) -> Option<String> {
    let c = &cx.parsed.catalog;
    let own = c
        .services
        .get(name)
        .and_then(|s| serde_json::to_value(s).ok());
    if sets(own.as_ref(), section, key) {
        return Some(push_pointer(&super::svc_key(name, section), key));
    }
    let defaults = c
        .defaults
        .as_ref()
        .and_then(|d| serde_json::to_value(d).ok());
    if sets(defaults.as_ref(), section, key) {
        return Some(push_pointer(&push_pointer("/defaults", section), key));
    }
    None
}

/// Whether the service itself (not `defaults`) sets `<section>/<key>`.
pub(super) fn own(cx: &Ctx, name: &str, section: &str, key: &str) -> bool {
    origin(cx, name, section, key).is_some_and(|p| p.starts_with("/services/"))
}

/// The service's own `<section>` block if it has one, else the service:
/// where to add a missing key (report it with `Hit::at_key`).
pub(super) fn block(cx: &Ctx, name: &str, section: &str) -> String {
    let has = cx
        .parsed
        .catalog
        .services
        .get(name)
        .and_then(|s| serde_json::to_value(s).ok())
        .is_some_and(|v| v.get(section).is_some_and(|b| !b.is_null()));
    if has {
        super::svc_key(name, section)
    } else {
        super::svc(name)
    }
}

fn sets(v: Option<&Value>, section: &str, key: &str) -> bool {
    v.and_then(|v| v.get(section))
        .and_then(|b| b.get(key))
        .is_some_and(|x| !x.is_null())
}
