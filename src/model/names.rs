//! The API server's syntax for names, label keys and values, and
//! ConfigMap/Secret keys: one definition, used by `model::check` to refuse a
//! catalog string with a located error and by `emit::validate` to hold every
//! rendered object to the same rules.

/// A DNS-1123 label: 1-63 of `a-z`, `0-9`, `-`, alphanumeric at both ends
/// (Namespace names).
pub fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain: dot-separated DNS labels, at most 253 characters
/// (most object names, Secret names).
pub fn dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(dns_label)
}

/// The name part of a label key, and a non-empty label value: 1-63 of
/// letters, digits, `-`, `_`, `.`, alphanumeric at both ends.
pub fn label_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A label (or annotation) key: `[prefix/]name`, the prefix a DNS subdomain.
pub fn label_key(k: &str) -> bool {
    match k.split_once('/') {
        Some((prefix, name)) => dns_subdomain(prefix) && label_name(name),
        None => label_name(k),
    }
}

/// A label value: empty, or a label name.
pub fn label_value(v: &str) -> bool {
    v.is_empty() || label_name(v)
}

/// A key of a ConfigMap or Secret: 1-253 of letters, digits, `-`, `_`, `.`,
/// not `.` or `..` and not starting with `..`.
pub fn data_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && k != "."
        && !k.starts_with("..")
}

/// What each rule wants, for help texts.
pub const DNS_LABEL_RULE: &str = "at most 63 characters: lowercase letters, digits and `-`, starting and ending with a letter or digit";
/// See [`DNS_LABEL_RULE`].
pub const DNS_SUBDOMAIN_RULE: &str = "at most 253 characters: lowercase letters, digits, `-` and `.`, each dot-separated part starting and ending with a letter or digit";
/// See [`DNS_LABEL_RULE`].
pub const LABEL_KEY_RULE: &str = "an optional DNS subdomain prefix and `/`, then at most 63 characters: letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit (e.g. `team` or `example.com/team`)";
/// See [`DNS_LABEL_RULE`].
pub const LABEL_VALUE_RULE: &str = "empty, or at most 63 characters: letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit (e.g. `payments`, `tier-1`)";
/// See [`DNS_LABEL_RULE`].
pub const DATA_KEY_RULE: &str = "at most 253 characters: letters, digits, `-`, `_` and `.`, and not `.`, `..` or starting with `..`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_of_the_api_server() {
        assert!(dns_label("a-1") && !dns_label("-a") && !dns_label("A") && !dns_label(""));
        assert!(!dns_label(&"a".repeat(64)) && dns_label(&"a".repeat(63)));
        assert!(dns_subdomain("a.b-c") && !dns_subdomain("a..b") && !dns_subdomain("a.-b"));
        assert!(label_key("example.com/team") && label_key("team"));
        assert!(!label_key("a b/c") && !label_key("/team") && !label_key("x/"));
        assert!(label_value("") && label_value("payments") && !label_value("has space"));
        assert!(!label_value("-lead") && !label_value(&"a".repeat(64)));
        assert!(data_key("password") && data_key(".env") && !data_key("..x") && !data_key("."));
        assert!(!data_key("a/b") && !data_key(""));
    }
}
