//! Secret scanning of every output of the topicform binary in the tests.
//!
//! Tests, and the test servers, `register` every secret value they generate,
//! read or see: passwords and connection strings of the secure broker, the
//! client secrets and assertions the identity provider is configured with or
//! is shown, every token it issues, every bearer token the ARM server sees,
//! and the value of every variable with a secret-like name given to the
//! binary (`Topicform::env`). `assert_clean` fails a test when an output holds
//! one of them, or either of two shapes no output may hold whatever its value:
//!
//! - `eyJ`: base64 of `{"`, the start of every JWT (and of any base64 JSON);
//! - `SharedAccessKey=` (any case) followed by a value other than a mask
//!   (`***...`) or the placeholder `...` / `…`;
//! - a PEM private key (`-----BEGIN ... PRIVATE KEY-----`).
//!
//! The message names each finding by a label and its position, never by its
//! value. `Topicform::output`/`assert` (tests/support/mod.rs) call
//! `assert_clean` on stdout and stderr, so no test can forget it.
//!
//! Rule for short values: a value shorter than `MIN_LEN` (6) bytes is not
//! registered (`register` ignores it): such strings occur by chance in
//! ordinary output, and a test secret that short tests nothing useful. Test
//! secrets are made long and distinctive instead (`hunter2-literal-secret`,
//! `pw-that-must-not-leak`, generated passwords of 24 characters).
//!
//! The registry is per test binary (each tests/*.rs is one) and only grows:
//! a value registered by one test is scanned for in every later output of
//! every test of that binary, which is stricter, never weaker.

use std::fmt::Write as _;
use std::panic::Location;
use std::sync::Mutex;

/// Values shorter than this many bytes are not registered.
pub const MIN_LEN: usize = 6;

struct Entry {
    label: String,
    value: Vec<u8>,
}

static REGISTRY: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

fn registry() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    // A test that panicked while holding the lock leaves a valid list.
    REGISTRY.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers a secret value, labelled by where it was registered.
#[track_caller]
pub fn register(value: &str) {
    register_as(&format!("a secret registered at {}", Location::caller()), value);
}

/// Registers a secret value under `label`, which is what a finding prints
/// (never the value). Values shorter than `MIN_LEN` are ignored; a value
/// registered before keeps its first label. Also registers the value's
/// percent-encoded form (as in a form body or a URL) when it differs, and
/// the key of a connection string (`SharedAccessKey=KEY`).
pub fn register_as(label: &str, value: &str) {
    add(label, value);
    let encoded = percent_encode(value);
    if encoded != value {
        add(&format!("{label}, percent-encoded"), &encoded);
    }
    if let Some((start, len)) = shared_access_key_value(value.as_bytes()).first() {
        add(&format!("{label}: its SharedAccessKey"), &value[*start..start + len]);
    }
}

fn add(label: &str, value: &str) {
    if value.len() < MIN_LEN {
        return;
    }
    let mut entries = registry();
    if !entries.iter().any(|e| e.value == value.as_bytes()) {
        entries.push(Entry { label: label.to_owned(), value: value.as_bytes().to_vec() });
    }
}

/// Whether an environment variable's name says its value is a secret
/// (`*PASSWORD*`, `*SECRET*`, `*TOKEN*`, `*CONNECTION_STRING*`, `*ACCESS_KEY*`,
/// `*SAS_KEY*`, `*PRIVATE_KEY*`), unless it names where the secret is
/// (`*_FILE`, `*_PATH`, `*_LOCATION`, `*_ENDPOINT`, `*_URL`, `*_URI`, `*_HOST`).
pub fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    let secret = ["PASSWORD", "SECRET", "TOKEN", "CONNECTION_STRING", "ACCESS_KEY", "SAS_KEY", "PRIVATE_KEY"]
        .iter()
        .any(|w| name.contains(w));
    let location =
        ["_FILE", "_PATH", "_LOCATION", "_ENDPOINT", "_URL", "_URI", "_HOST"].iter().any(|w| name.ends_with(w));
    secret && !location
}

/// One secret found in an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was found: a registered value's label or the shape's name.
    pub label: String,
    /// Byte offset in the output.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

const JWT: &str = "a JWT or base64-encoded JSON (`eyJ`)";
const SAS: &str = "an unmasked `SharedAccessKey=` value";
const PEM: &str = "a PEM private key";

/// Every secret in `bytes`, in order of offset.
pub fn scan(bytes: &[u8]) -> Vec<Finding> {
    scan_allowing(bytes, &[])
}

/// Like `scan`, minus findings inside an occurrence of one of `allowed`.
pub fn scan_allowing(bytes: &[u8], allowed: &[String]) -> Vec<Finding> {
    let mut found = Vec::new();
    for entry in registry().iter() {
        for offset in occurrences(bytes, &entry.value) {
            found.push(Finding { label: entry.label.clone(), offset, len: entry.value.len() });
        }
    }
    for offset in occurrences(bytes, b"eyJ") {
        let len = 3 + bytes[offset + 3..].iter().take_while(|b| is_token_byte(**b)).count();
        found.push(Finding { label: JWT.into(), offset, len });
    }
    for (offset, len) in shared_access_key_value(bytes) {
        let value = &bytes[offset..offset + len];
        let masked = value.starts_with(b"***") || value == b"..." || value == "…".as_bytes();
        if !masked {
            found.push(Finding { label: SAS.into(), offset, len });
        }
    }
    for offset in occurrences(bytes, b"-----BEGIN ") {
        let header = &bytes[offset..bytes.len().min(offset + 64)];
        let line = header.split(|b| *b == b'\n').next().unwrap_or(header);
        if occurrences(line, b"PRIVATE KEY-----").next().is_some() {
            found.push(Finding { label: PEM.into(), offset, len: line.len() });
        }
    }
    let allowed: Vec<(usize, usize)> =
        allowed.iter().flat_map(|a| occurrences(bytes, a.as_bytes()).map(move |o| (o, o + a.len()))).collect();
    found.retain(|f| !allowed.iter().any(|(start, end)| *start <= f.offset && f.offset + f.len <= *end));
    found.sort_by(|a, b| (a.offset, &a.label).cmp(&(b.offset, &b.label)));
    found
}

/// Fails the test when `bytes` (`what`: e.g. the stdout of a command) holds
/// a registered secret, a token or an unmasked key, naming each finding by
/// its label and position and showing its line with every finding redacted.
#[track_caller]
pub fn assert_clean(what: &str, bytes: &[u8]) {
    assert_clean_allowing(what, bytes, &[]);
}

/// `assert_clean`, except inside occurrences of `allowed` (see
/// `Topicform::reveals`: only for `--reveal-secrets`).
#[track_caller]
pub fn assert_clean_allowing(what: &str, bytes: &[u8], allowed: &[String]) {
    let found = scan_allowing(bytes, allowed);
    if found.is_empty() {
        return;
    }
    let mut message = format!("secret scan: {what} contains {} secret(s):\n", found.len());
    for f in &found {
        let (line, column) = line_column(bytes, f.offset);
        let _ = writeln!(
            message,
            "  - {} at byte {} (line {line}, column {column}, {} bytes): {}",
            f.label,
            f.offset,
            f.len,
            excerpt(bytes, &found, f)
        );
    }
    message.push_str("(values are never printed: each finding is shown as [REDACTED: label])");
    panic!("{message}");
}

/// `text` with every registered value, token and unmasked key replaced by
/// `[REDACTED: label]` (for messages about a command, e.g. its variables).
pub fn redact(text: &str) -> String {
    let bytes = text.as_bytes();
    let found = scan(bytes);
    redacted(bytes, &found, 0, bytes.len())
}

/// The line of `f`, at most ~100 bytes either side of it, findings redacted.
fn excerpt(bytes: &[u8], found: &[Finding], f: &Finding) -> String {
    let line_start = bytes[..f.offset].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let end = f.offset + f.len;
    let line_end = bytes[end..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |i| end + i);
    let start = line_start.max(f.offset.saturating_sub(100));
    let stop = line_end.min(end + 100);
    format!(
        "`{}{}{}`",
        if start > line_start { "…" } else { "" },
        redacted(bytes, found, start, stop),
        if stop < line_end { "…" } else { "" }
    )
}

fn redacted(bytes: &[u8], found: &[Finding], start: usize, stop: usize) -> String {
    let mut out = Vec::new();
    let mut i = start;
    while i < stop {
        match found.iter().filter(|f| f.offset <= i && i < f.offset + f.len).max_by_key(|f| f.offset + f.len) {
            Some(f) => {
                out.extend_from_slice(format!("[REDACTED: {}]", f.label).as_bytes());
                i = f.offset + f.len;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    (line, String::from_utf8_lossy(&before[line_start..]).chars().count() + 1)
}

fn occurrences<'a>(haystack: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let n = needle.len();
    (0..(haystack.len() + 1).saturating_sub(n.max(1)))
        .filter(move |&i| n > 0 && haystack[i] == needle[0] && &haystack[i..i + n] == needle)
}

/// base64 / base64url and JWT separators.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/' | b'=' | b'.')
}

/// (offset, length) of each value after `SharedAccessKey=` (any case), up
/// to the next separator (`;`, white space, a quote, `,`, `)`, `]`, `}`, `&`, `<`, `>`).
fn shared_access_key_value(bytes: &[u8]) -> Vec<(usize, usize)> {
    const KEY: &[u8] = b"sharedaccesskey=";
    let lower = bytes.to_ascii_lowercase();
    occurrences(&lower, KEY)
        .map(|o| {
            let start = o + KEY.len();
            let len =
                bytes[start..].iter().take_while(|b| !b.is_ascii_whitespace() && !b";'\"`,)]}&<>".contains(b)).count();
            (start, len)
        })
        .filter(|(_, len)| *len > 0)
        .collect()
}

fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
