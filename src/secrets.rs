//! The one detector of secret-looking text, and the one masker built on it.
//!
//! The lint rules `secret-env-literal`, `env-high-entropy` and
//! `env-url-credentials` ask [`secret_name`] and [`value_kind`] whether a
//! literal env variable holds a secret; the diagnostics ([`crate::diag`]),
//! the `gen build --check` diff and the chart README ask the same functions,
//! through [`yaml_ranges`] and [`mask`], what to hide. So whatever lint calls
//! a secret is never printed by gen, and vice versa.
//!
//! Masking replaces every byte of a secret with `*`: offsets and lines stay
//! where they were, so a diagnostic still points at the right place.

use std::collections::BTreeMap;
use std::ops::Range;

/// Whole words that mark a secret in a name (`DB_PASSWORD`, `apiKey`).
const NAME_WORDS: [&str; 18] = [
    "PASSWORD",
    "PASSWORDS",
    "PASSWD",
    "PASS",
    "PWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "KEY",
    "KEYS",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "PRIVATE",
    "AUTH",
];

/// Ends of glued words that mark a secret (`DBPASS`, `APITOKEN`).
const NAME_ENDS: [&str; 6] = ["PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "KEY"];

/// Words that merely end like a marker.
const NOT_MARKERS: [&str; 12] = [
    "BYPASS",
    "COMPASS",
    "SURPASS",
    "TRESPASS",
    "OVERPASS",
    "UNDERPASS",
    "MONKEY",
    "TURKEY",
    "HOCKEY",
    "JOCKEY",
    "DONKEY",
    "WHISKEY",
];

/// Last words that make the name about a secret rather than the secret itself
/// (`DB_PASSWORD_FILE`, `TOKEN_URL`, `TLS_SECRET_NAME`, `CACHE_KEY_PREFIX`).
const ABOUT_WORDS: [&str; 18] = [
    "FILE", "PATH", "DIR", "URL", "URI", "ENDPOINT", "HOST", "PORT", "NAME", "ENABLED", "DISABLED",
    "MODE", "TYPE", "TTL", "TIMEOUT", "LENGTH", "PREFIX", "HEADER",
];

/// The words of a name: split at anything but letters and digits, and at
/// lower-to-upper case changes (`dbPassword` -> `DB`, `PASSWORD`).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_uppercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether a name (an env variable, a YAML key, `--flag` or `name=`) says its
/// value is a secret: a word like PASSWORD, PASS, PASSWD, PWD, SECRET, TOKEN,
/// KEY, CREDENTIAL(S), CREDS, PRIVATE, AUTH, or a word ending in PASSWORD,
/// PASS, SECRET, TOKEN or KEY (`DBPASS`), unless the last word says the value
/// is only about the secret (`_FILE`, `_PATH`, `_URL`, `_NAME`, ...).
pub fn secret_name(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else {
        return false;
    };
    if w.len() > 1 && ABOUT_WORDS.contains(&last.as_str()) {
        return false;
    }
    w.iter().any(|word| {
        NAME_WORDS.contains(&word.as_str())
            || (!NOT_MARKERS.contains(&word.as_str())
                && NAME_ENDS.iter().any(|end| word.ends_with(end)))
    })
}

/// Why a value looks secret by its content alone.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// An AWS access key id (`AKIA...`, `ASIA...`).
    AccessKey,
    /// A PEM private key block.
    PrivateKey,
    /// A JSON Web Token (`eyJ...`.`eyJ...`.`...`).
    Jwt,
    /// URLs whose authority carries a password, shown masked
    /// (`postgres://app:***@db:5432`).
    UrlPassword(Vec<String>),
    /// A run of random-looking key characters: its length and Shannon
    /// entropy in bits per character.
    Random(usize, f64),
}

/// Thresholds of the random-string test (the lint policy can change them).
#[derive(Debug, Clone, Copy)]
pub struct Entropy {
    /// Shortest run measured.
    pub min_length: usize,
    /// Bits per character from which a run counts as random.
    pub min_bits: f64,
}

impl Default for Entropy {
    fn default() -> Self {
        Entropy {
            min_length: 20,
            min_bits: 4.0,
        }
    }
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts: BTreeMap<char, usize> = BTreeMap::new();
    let mut n = 0usize;
    for c in s.chars() {
        *counts.entry(c).or_insert(0) += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = n as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')
}

/// Whether `value` holds an AWS access key id: `AKIA` or `ASIA` and 16
/// upper-case letters or digits, standing alone.
fn access_key(value: &str) -> bool {
    let b = value.as_bytes();
    let id = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    ["AKIA", "ASIA"].iter().any(|p| {
        value.match_indices(p).any(|(i, _)| {
            b.len() >= i + 20
                && (i == 0 || !id(b[i - 1]))
                && b[i + 4..i + 20].iter().all(|&c| id(c))
                && b.get(i + 20).is_none_or(|&c| !id(c))
        })
    })
}

fn jwt(value: &str) -> bool {
    value
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .any(|run| {
            let parts: Vec<&str> = run.split('.').collect();
            parts.len() == 3
                && parts[0].starts_with("eyJ")
                && parts[1].starts_with("eyJ")
                && parts[..2].iter().all(|p| p.len() >= 10)
        })
}

/// Whether a password in a URL is a placeholder expanded elsewhere
/// (`${DB_PASSWORD}`, `$(DB_PASSWORD)`, `$DB_PASSWORD`).
fn placeholder(pw: &str) -> bool {
    let name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    pw.strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .map(|r| r.split(':').next().unwrap_or(""))
        .or_else(|| pw.strip_prefix("$(").and_then(|r| r.strip_suffix(')')))
        .or_else(|| pw.strip_prefix('$'))
        .is_some_and(name)
}

/// The byte index just after the last character of `s` that `pred` takes
/// (0 if none): a character boundary, whatever that character's width.
fn after_last(s: &str, pred: impl Fn(char) -> bool) -> usize {
    s.char_indices()
        .rev()
        .find(|&(_, c)| pred(c))
        .map_or(0, |(j, c)| j + c.len_utf8())
}

/// The URLs in `value` that carry a password, with the password masked.
pub fn credential_urls(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = value[from..].find("://") {
        let sep = from + i;
        from = sep + 3;
        let scheme_start = after_last(&value[..sep], |c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-' | ':'))
        });
        let scheme = &value[scheme_start..sep];
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let rest = &value[from..];
        let end = rest
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let (user, host) = (&authority[..at], &authority[at + 1..]);
        let Some((user, pw)) = user.split_once(':') else {
            continue;
        };
        if pw.is_empty() || placeholder(pw) {
            continue;
        }
        found.push(format!("{scheme}://{user}:***@{host}"));
    }
    found
}

/// Why `value` looks like a secret by its content, with the random-string
/// thresholds `e`; None when it does not.
pub fn value_kind(value: &str, e: Entropy) -> Option<Kind> {
    if value.contains("-----BEGIN ") && value.contains("PRIVATE KEY") {
        return Some(Kind::PrivateKey);
    }
    let urls = credential_urls(value);
    if !urls.is_empty() {
        return Some(Kind::UrlPassword(urls));
    }
    if jwt(value) {
        return Some(Kind::Jwt);
    }
    if access_key(value) {
        return Some(Kind::AccessKey);
    }
    // Image digests (`sha256:<hex>`) are content addresses, not secrets.
    let digest = |run: &str| {
        let at = run.as_ptr() as usize - value.as_ptr() as usize;
        value[..at].ends_with("sha256:") || value[..at].ends_with("sha512:")
    };
    value
        .split(|c: char| !key_char(c))
        .filter(|run| !run.starts_with('/') && !digest(run) && run.chars().count() >= e.min_length)
        .map(|run| (run.chars().count(), entropy(run)))
        .filter(|(_, bits)| *bits >= e.min_bits)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(len, bits)| Kind::Random(len, bits))
}

/// Whether `value` looks like a secret by its content (default thresholds).
pub fn secret_value(value: &str) -> bool {
    value_kind(value, Entropy::default()).is_some()
}

/// Whether a named value should be hidden: its name or its content says so.
pub fn secret_pair(name: &str, value: &str) -> bool {
    (secret_name(name) && !value.is_empty()) || secret_value(value)
}

/// The ranges of `name=value` assignments with a secret-looking name inside
/// `s` (`--db-password=x`, `?token=x&`, `DB_PASSWORD=x`), offset by `base`.
fn assignments(s: &str, base: usize, out: &mut Vec<Range<usize>>) {
    let bytes = s.as_bytes();
    for (i, _) in s.match_indices('=') {
        let name_start = after_last(&s[..i], |c| {
            !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        });
        let name = s[name_start..i].trim_start_matches('-');
        if name.is_empty() || !secret_name(name) {
            continue;
        }
        let start = i + 1;
        let end = s[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '&' | ';' | ',' | '"' | '\''))
            .map_or(s.len(), |j| start + j);
        if end > start && bytes.get(start) != Some(&b'=') {
            out.push(base + start..base + end);
        }
    }
}

/// The byte ranges of `text` (YAML, valid or not) that hold secret-looking
/// values: the value of every key whose name looks secret, every scalar whose
/// content looks secret, secret `name=value` assignments inside scalars, and
/// the same in comments. A tolerant scan, not a parse: it must work on the
/// catalogs gen refuses too.
pub fn yaml_ranges(text: &str) -> Vec<Range<usize>> {
    let mut lx = Lexer {
        t: text,
        b: text.as_bytes(),
        i: 0,
        flow: 0,
        pending: false,
        secret_depth: None,
        anchor: None,
        anchors: BTreeMap::new(),
        out: Vec::new(),
    };
    lx.run();
    lx.out
}

struct Lexer<'a> {
    t: &'a str,
    b: &'a [u8],
    i: usize,
    /// Flow collection depth.
    flow: usize,
    /// The last key looked secret and its value has not come yet.
    pending: bool,
    /// A flow collection that is the value of a secret key: every scalar in
    /// it is hidden.
    secret_depth: Option<usize>,
    /// An anchor (`&name`) waiting for its scalar.
    anchor: Option<&'a str>,
    /// Anchored scalars: an alias (`*name`) under a secret key hides its
    /// anchor's value.
    anchors: BTreeMap<&'a str, Range<usize>>,
    out: Vec<Range<usize>>,
}

impl<'a> Lexer<'a> {
    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(b'\n')
    }

    fn blank(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\r' | b'\n')
    }

    fn flow_indicator(b: u8) -> bool {
        matches!(b, b',' | b'[' | b']' | b'{' | b'}')
    }

    fn line_start(&self, i: usize) -> usize {
        self.t[..i].rfind('\n').map_or(0, |j| j + 1)
    }

    fn line_end(&self, i: usize) -> usize {
        self.t[i..].find('\n').map_or(self.t.len(), |j| i + j)
    }

    fn indent(&self, start: usize) -> usize {
        self.b[start..].iter().take_while(|&&b| b == b' ').count()
    }

    fn run(&mut self) {
        while self.i < self.b.len() {
            let c = self.b[self.i];
            let prev = if self.i == 0 {
                b'\n'
            } else {
                self.b[self.i - 1]
            };
            match c {
                b' ' | b'\t' | b'\r' | b'\n' => self.i += 1,
                b'#' if Self::blank(prev) => {
                    let end = self.line_end(self.i);
                    self.comment(self.i + 1, end);
                    self.i = end;
                }
                b'"' | b'\'' => self.quoted(c),
                b'{' | b'[' => {
                    self.flow += 1;
                    if std::mem::take(&mut self.pending) && self.secret_depth.is_none() {
                        self.secret_depth = Some(self.flow);
                    }
                    self.i += 1;
                }
                b'}' | b']' => {
                    if self.secret_depth == Some(self.flow) {
                        self.secret_depth = None;
                    }
                    self.flow = self.flow.saturating_sub(1);
                    self.i += 1;
                }
                b',' => self.i += 1,
                b'-' | b'?' | b':' if Self::blank(self.at(self.i + 1)) => self.i += 1,
                b'|' | b'>' if self.block_header() => self.block(),
                b'&' | b'*' | b'!' => {
                    let start = self.i + 1;
                    while self.i < self.b.len()
                        && !Self::blank(self.b[self.i])
                        && !(self.flow > 0 && Self::flow_indicator(self.b[self.i]))
                    {
                        self.i += 1;
                    }
                    let name = &self.t[start.min(self.i)..self.i];
                    if c == b'&' {
                        self.anchor = Some(name);
                    } else if c == b'*'
                        && (std::mem::take(&mut self.pending) || self.secret_depth.is_some())
                    {
                        if let Some(r) = self.anchors.get(name) {
                            self.out.push(r.clone());
                        }
                    }
                }
                _ => self.plain(),
            }
        }
    }

    /// A `|` or `>` followed only by indentation/chomping indicators and
    /// maybe a comment.
    fn block_header(&self) -> bool {
        let end = self.line_end(self.i);
        let rest = &self.t[self.i + 1..end];
        let head = rest.split(" #").next().unwrap_or("");
        head.trim()
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'+' || b == b'-')
    }

    fn block(&mut self) {
        let parent = self.indent(self.line_start(self.i));
        let header_end = self.line_end(self.i);
        let mut end = header_end;
        let mut j = header_end + 1;
        while j < self.b.len() {
            let le = self.line_end(j);
            let line = &self.t[j..le];
            if !line.trim().is_empty() && self.indent(j) <= parent {
                break;
            }
            end = le;
            j = le + 1;
        }
        let start = (header_end + 1).min(end);
        let content = &self.t[start..end];
        let hide = self.pending || self.secret_depth.is_some() || secret_value(content);
        self.scalar(start..end);
        // Masked line by line, indentation kept.
        if hide {
            self.out.retain(|r| *r != (start..end));
            let mut at = start;
            for line in content.split('\n') {
                let body = line.trim_start_matches(' ');
                let from = at + (line.len() - body.len());
                if !body.is_empty() {
                    self.out.push(from..at + line.len());
                }
                at += line.len() + 1;
            }
        }
        self.i = end;
    }

    fn quoted(&mut self, q: u8) {
        let start = self.i + 1;
        let mut j = start;
        while j < self.b.len() {
            let b = self.b[j];
            if q == b'"' && b == b'\\' {
                j += 2;
                continue;
            }
            if b == q {
                if q == b'\'' && self.at(j + 1) == b'\'' {
                    j += 2;
                    continue;
                }
                break;
            }
            j += 1;
        }
        let end = j.min(self.b.len());
        self.i = (end + 1).min(self.b.len());
        self.scalar(start..end);
    }

    fn plain(&mut self) {
        let start = self.i;
        let mut j = start;
        while j < self.b.len() {
            let b = self.b[j];
            if b == b'\n' || (b == b'#' && j > start && Self::blank(self.b[j - 1])) {
                break;
            }
            if b == b':'
                && (Self::blank(self.at(j + 1))
                    || (self.flow > 0 && Self::flow_indicator(self.at(j + 1))))
            {
                break;
            }
            if self.flow > 0 && Self::flow_indicator(b) {
                break;
            }
            j += 1;
        }
        let mut end = j;
        while end > start && Self::blank(self.b[end - 1]) {
            end -= 1;
        }
        // Never stall: a lone character that ends a scalar at once is skipped.
        self.i = j.max(start + 1);
        if end > start {
            self.scalar(start..end);
        }
    }

    /// A scalar: a key when a `:` follows on its line, else a value.
    fn scalar(&mut self, r: Range<usize>) {
        let text = &self.t[r.clone()];
        if let Some(name) = self.anchor.take() {
            self.anchors.insert(name, r.clone());
        }
        let mut k = self.i;
        while matches!(self.at(k), b' ' | b'\t') && k < self.b.len() {
            k += 1;
        }
        let is_key = k < self.b.len()
            && self.b[k] == b':'
            && (Self::blank(self.at(k + 1))
                || (self.flow > 0 && Self::flow_indicator(self.at(k + 1))));
        if secret_value(text) {
            self.out.push(r.clone());
        }
        if is_key {
            self.pending = secret_name(text);
            return;
        }
        if std::mem::take(&mut self.pending) || self.secret_depth.is_some() {
            self.out.push(r);
        } else {
            assignments(text, r.start, &mut self.out);
        }
    }

    /// A comment: `name=value` and `name: value` with a secret name, and
    /// secret-looking words.
    fn comment(&mut self, start: usize, end: usize) {
        let text = &self.t[start..end];
        assignments(text, start, &mut self.out);
        let mut after_name = false;
        let mut from = 0;
        // Split at one-byte blanks only, so offsets stay byte offsets.
        for word in text.split([' ', '\t', '\r']) {
            let at = start + from;
            from += word.len() + 1;
            if word.is_empty() {
                continue;
            }
            if after_name || secret_value(word) {
                self.out.push(at..at + word.len());
            }
            after_name = word
                .strip_suffix(':')
                .is_some_and(|n| secret_name(n.trim_matches(|c| c == '"' || c == '\'')));
        }
    }
}

/// `text` with each of `ranges` replaced by [`MASKED`] (its length hidden
/// too; offsets move).
pub fn mask_fixed(text: &str, ranges: &[Range<usize>]) -> String {
    let mut ranges: Vec<Range<usize>> = ranges.to_vec();
    ranges.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        let (Some(_), Some(_)) = (text.get(r.start..), text.get(r.end..)) else {
            continue;
        };
        if r.end <= at {
            continue;
        }
        let start = r.start.max(at);
        out.push_str(&text[at..start]);
        if start == r.start {
            out.push_str(MASKED);
        }
        // A block of lines keeps its line breaks, so a diff stays by line.
        out.extend(text[start..r.end].matches('\n'));
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// `text` with every character of `ranges` replaced by a mask character of
/// the same UTF-8 width (`*` for ASCII, [`MASK_CHARS`]), but line breaks and
/// the indentation that starts a line (the layout, not the value).
pub fn mask(text: &str, ranges: &[Range<usize>]) -> String {
    if ranges.is_empty() {
        return text.to_owned();
    }
    let mut hidden = vec![false; text.len()];
    for r in ranges {
        let start = r.start.min(text.len());
        let end = r.end.clamp(start, text.len());
        hidden[start..end].iter_mut().for_each(|h| *h = true);
    }
    // Whole characters are replaced, each by a mask of its own width, so
    // byte offsets and character columns both stay as they were. Spaces
    // that indent a line inside a masked value stay, to keep its shape.
    let mut out = String::with_capacity(text.len());
    let mut indent = true;
    for (i, c) in text.char_indices() {
        let hide = hidden[i..i + c.len_utf8()].iter().any(|h| *h);
        match c {
            '\n' => {
                out.push('\n');
                indent = true;
            }
            ' ' if indent => out.push(' '),
            _ if hide => {
                out.push(MASK_CHARS[c.len_utf8() - 1]);
                indent = false;
            }
            _ => {
                out.push(c);
                indent = false;
            }
        }
    }
    out
}

/// What replaces a masked character, by its width in UTF-8 bytes (1 to 4).
pub const MASK_CHARS: [char; 4] = ['*', '\u{00D7}', '\u{2217}', '\u{1F7B1}'];

/// YAML text with its secret-looking values masked ([`yaml_ranges`]).
pub fn mask_yaml(text: &str) -> String {
    mask(text, &yaml_ranges(text))
}

/// What replaces a secret-looking value in JSON documents gen prints.
pub const MASKED: &str = "***";

/// Replace, everywhere in `v`, each string whose content looks secret with
/// [`MASKED`]; with `by_name`, also the strings of `v`'s own entries whose
/// name looks secret (an env map).
pub fn mask_json(v: &mut serde_json::Value, by_name: bool) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(s) if by_name && secret_pair(k, s) => *x = Value::from(MASKED),
                    _ => mask_json(x, false),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| mask_json(x, false)),
        Value::String(s) if secret_value(s) => *v = Value::from(MASKED),
        _ => {}
    }
}

/// The unified diff from `old` to `new` (YAML or other text) with the
/// secret-looking values of both sides masked. When only such values differ,
/// the diff says so in place of the lines.
pub fn masked_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let hide = |t: &str| mask_fixed(t, &yaml_ranges(t));
    let (a, b) = (hide(old), hide(new));
    if a == b && old != new {
        return format!(
            "--- {old_name}\n+++ {new_name}\n# only secret-looking values differ; gen does not print them\n"
        );
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for n in [
            "DB_PASSWORD",
            "DBPASS",
            "db_pass",
            "dbPassword",
            "API_KEY",
            "apiKey",
            "STRIPE_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "OAUTH_CLIENT_SECRET",
            "REDIS_AUTH",
            "SMTP_CREDENTIALS",
            "PRIVATE_KEY",
            "MYSQL_PWD",
            "APITOKEN",
            "keyStorePassword",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "LOG_LEVEL",
            "PORT",
            "CACHE_BYPASS",
            "COMPASS_URL",
            "DB_PASSWORD_FILE",
            "TOKEN_URL",
            "TLS_SECRET_NAME",
            "CACHE_KEY_PREFIX",
            "AUTHOR",
            "KEYCLOAK_REALM",
            "PASSENGER_COUNT",
            "",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }

    #[test]
    fn values() {
        let e = Entropy::default();
        assert_eq!(value_kind("AKIAIOSFODNN7EXAMPLE", e), Some(Kind::AccessKey));
        assert_eq!(
            value_kind("id=ASIAY34FZKBOKMUTVV7A;", e),
            Some(Kind::AccessKey)
        );
        assert_eq!(
            value_kind(
                "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
                e
            ),
            Some(Kind::PrivateKey)
        );
        assert_eq!(
            value_kind(
                "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc-_def",
                e
            ),
            Some(Kind::Jwt)
        );
        assert!(matches!(
            value_kind("postgres://app:pw@db/x", e),
            Some(Kind::UrlPassword(_))
        ));
        assert!(matches!(
            value_kind("xK9fQ2mZ7vL4pR8tW1yB6nC3", e),
            Some(Kind::Random(24, _))
        ));
        for v in [
            "info",
            "https://example.com/a/b",
            "-XX:MaxRAMPercentage=75.0 -Dfile.encoding=UTF-8",
            "/var/lib/some/very/long/path/name/here",
            "AKIA",
            "-----BEGIN CERTIFICATE-----",
            "ghcr.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(value_kind(v, e), None, "{v}");
        }
    }

    #[test]
    fn credential_urls_are_masked() {
        assert_eq!(
            credential_urls("postgres://app:pw@db:5432/x"),
            ["postgres://app:***@db:5432"]
        );
        assert_eq!(
            credential_urls("jdbc:mysql://u:p@h/db?x=1"),
            ["jdbc:mysql://u:***@h"]
        );
        assert_eq!(
            credential_urls("a=redis://:s3cret@cache:6379 b=http://h/"),
            ["redis://:***@cache:6379"]
        );
        assert!(credential_urls("https://git@github.com/x").is_empty());
        assert!(credential_urls("https://example.com/a@b:c").is_empty());
        assert!(credential_urls("postgres://app:${DB_PASSWORD}@db/x").is_empty());
        assert!(credential_urls("postgres://app:$(DB_PASSWORD)@db/x").is_empty());
        assert!(credential_urls("no url: a:b@c").is_empty());
    }

    /// Each case: YAML with secrets written `<<x>>`; the masker must hide
    /// exactly the marked bytes.
    #[test]
    fn yaml_masking() {
        let cases = [
            "env:\n  DB_PASSWORD: <<hunter2>>\n  LOG: info\n",
            "env: {DBPASS: <<hunter2>>, LOG: info, K: <<AKIAIOSFODNN7EXAMPLE>>}\n",
            "env:\n  API_TOKEN: \"<<s3cr3t>>\"\n  PASS: '<<it''s>>'\n",
            "x:\n  PRIVATE_KEY: |\n    <<line one>>\n    <<line two>>\n  next: 1\n",
            "args: [\"--db-password=<<hunter2>>\", \"--port=80\"]\n",
            "env: {DSN: \"<<postgres://a:b@db/x>>\"}  # DB_PASSWORD: <<old>> and token=<<abc>>\n",
            "secrets: [<<a>>, <<b>>]\nafter: visible\n",
            "bad: [unclosed\n  DB_PASSWORD: <<x1>>\n",
            "DB_PASSWORD:\n  <<multi>>\nnext: 1\n",
            "x-pw: &pw <<hunter2>>\nenv: {DB_PASSWORD: *pw, B: *pw}\n",
        ];
        for case in cases {
            let mut text = String::new();
            let mut want = Vec::new();
            let mut rest = case;
            while let Some(i) = rest.find("<<") {
                text.push_str(&rest[..i]);
                let j = rest[i..].find(">>").unwrap() + i;
                want.push(text.len()..text.len() + (j - i - 2));
                text.push_str(&rest[i + 2..j]);
                rest = &rest[j + 2..];
            }
            text.push_str(rest);
            let got = mask_yaml(&text);
            assert_eq!(got, mask(&text, &want), "{case}");
        }
    }
}
