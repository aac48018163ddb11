//! Container image references: `[registry/]repository[:tag][@sha256:digest]`.

use std::fmt;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// As written in the catalog.
    pub raw: String,
    /// Registry and repository, e.g. `registry.example/team/api`.
    pub repository: String,
    /// Tag, e.g. `1.4.2-3f9c2ab`.
    pub tag: Option<String>,
    /// Digest, e.g. `sha256:<64 hex>`.
    pub digest: Option<String>,
}

/// Why an image reference is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Not a syntactically valid reference.
    Syntax(String),
    /// Neither tag nor digest.
    Unpinned,
    /// Tag `latest` without a digest.
    Latest,
}

impl fmt::Display for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn valid_component(c: &str) -> bool {
    // lowercase alphanumerics separated by `.`, `_`, `__` or `-` runs.
    !c.is_empty()
        && c.chars().all(|ch| {
            ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-')
        })
        && c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
        && c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
}

fn valid_domain(d: &str) -> bool {
    let host = match d.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => h,
        Some(_) => return false,
        None => d,
    };
    !host.is_empty()
        && host.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !p.starts_with('-')
                && !p.ends_with('-')
        })
}

impl Image {
    /// An unparsed reference (only used after validation already failed).
    pub fn raw(s: &str) -> Image {
        Image {
            raw: s.to_owned(),
            repository: s.to_owned(),
            tag: None,
            digest: None,
        }
    }

    /// Parse and require a pin (tag other than `latest`, or a digest).
    pub fn parse(s: &str) -> Result<Image, ImageError> {
        let img = Self::parse_syntax(s)?;
        match (&img.tag, &img.digest) {
            (_, Some(_)) => Ok(img),
            (None, None) => Err(ImageError::Unpinned),
            (Some(t), None) if t == "latest" => Err(ImageError::Latest),
            _ => Ok(img),
        }
    }

    /// Parse the syntax only (the pin was checked, or waived, already).
    pub fn parse_syntax(s: &str) -> Result<Image, ImageError> {
        let err = |m: &str| Err(ImageError::Syntax(m.to_owned()));
        if s.is_empty() {
            return err("the image reference is empty");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("an image reference cannot contain spaces or control characters");
        }
        let (name_tag, digest) = match s.split_once('@') {
            Some((n, d)) => {
                let Some(hex) = d.strip_prefix("sha256:") else {
                    return err("the digest must look like sha256:<64 hex digits>");
                };
                if hex.len() != 64
                    || !hex
                        .chars()
                        .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                {
                    return err("the digest must look like sha256:<64 lowercase hex digits>");
                }
                (n, Some(d.to_owned()))
            }
            None => (s, None),
        };
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        if let Some(t) = tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !ok {
                return err(
                    "a tag is 1-128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`",
                );
            }
        }
        let mut parts: Vec<&str> = repository.split('/').collect();
        if parts.len() > 1 {
            let first = parts[0];
            if first.contains('.') || first.contains(':') || first == "localhost" {
                if !valid_domain(first) {
                    return err("the registry host is not a valid host[:port]");
                }
                parts.remove(0);
            }
        }
        if parts.is_empty() || !parts.iter().all(|c| valid_component(c)) {
            return err("repository names use lowercase letters, digits and `.`, `_`, `-` between `/`-separated parts");
        }
        Ok(Image {
            raw: s.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let i =
            Image::parse("111122223333.dkr.ecr.ap-northeast-2.amazonaws.com/student:1.4.2-3f9c2ab")
                .unwrap();
        assert_eq!(
            i.repository,
            "111122223333.dkr.ecr.ap-northeast-2.amazonaws.com/student"
        );
        assert_eq!(i.tag.as_deref(), Some("1.4.2-3f9c2ab"));
        let i = Image::parse("localhost:5000/a/b:1").unwrap();
        assert_eq!(i.repository, "localhost:5000/a/b");
        let d = format!("redis@sha256:{}", "a".repeat(64));
        assert!(Image::parse(&d).unwrap().digest.is_some());
    }

    #[test]
    fn refuses_unpinned_and_latest() {
        assert_eq!(Image::parse("redis"), Err(ImageError::Unpinned));
        assert_eq!(
            Image::parse("registry:5000/redis"),
            Err(ImageError::Unpinned)
        );
        assert_eq!(Image::parse("redis:latest"), Err(ImageError::Latest));
        assert!(matches!(
            Image::parse("Redis:1"),
            Err(ImageError::Syntax(_))
        ));
        assert!(matches!(
            Image::parse("redis:1 2"),
            Err(ImageError::Syntax(_))
        ));
    }
}
