//! Parsing a spec from text, keeping every node's location so any finding
//! (syntax, type, unknown key, limit) is reported as `file:line:col` with
//! the offending line shown.

use std::collections::HashMap;
use std::sync::Arc;

use marked_yaml::{LoaderOptions, Marker, Node};

use super::finding::{Finding, Pointer, Seg};
use super::model::Spec;

/// A parsed spec plus what is needed to point into its source.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The file name as the user gave it.
    pub name: String,
    /// The file's text.
    pub source: Arc<String>,
    /// The deserialised spec.
    pub spec: Spec,
    /// Shared policy files checked with the spec's own `policy:`
    /// ([`LoadedSpec::with_policies`]).
    pub policies: Vec<crate::policy::LoadedPolicy>,
    /// The day waivers are judged on; `None`: no waiver has expired.
    pub today: Option<jiff::civil::Date>,
    pub(crate) document: Document,
}

/// A parsed YAML document's nodes and line index: what turns a finding's
/// YAML path into `name:line:col`.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    /// Its name and text, as findings in it show them.
    pub(crate) text: Arc<SourceText>,
    root: Node,
    /// Byte offset of each line's start, so locating a finding does not
    /// scan the text from the top (20,000 findings made that quadratic).
    line_starts: Vec<usize>,
}

/// A document's name and (secret-masked) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    /// The name findings show (`topicform.yaml`, `configmap/NS/NAME/topics.yaml`).
    pub name: String,
    /// The text.
    pub text: Arc<String>,
}

/// A finding resolved to a place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The finding itself.
    pub finding: Finding,
    /// 1-based line and column, when the path exists in the document.
    pub line_col: Option<(usize, usize)>,
    /// Byte offset and length in the source, for snippets.
    pub span: Option<(usize, usize)>,
    /// The document it is in, when not the spec file itself (a topic a
    /// ConfigMap contributed).
    pub elsewhere: Option<Arc<SourceText>>,
}

impl Located {
    /// Where it is, as `file:line:col` (just the file when the place is not
    /// in it): the file is the document it names, else `spec_name`.
    pub fn location(&self, spec_name: &str) -> String {
        let file = self.elsewhere.as_ref().map_or(spec_name, |d| d.name.as_str());
        match self.line_col {
            Some((line, col)) => format!("{file}:{line}:{col}"),
            None => file.to_owned(),
        }
    }
}

/// Why a spec could not be read at all.
#[derive(Debug, Clone)]
pub struct ParseFailure {
    /// The file name.
    pub name: String,
    /// The file's text.
    pub source: Arc<String>,
    /// The problem, with its location.
    pub problem: Located,
}

/// Parses `text` (named `name` in messages) into a spec. Duplicate keys,
/// unknown keys and wrong types are errors with their location.
pub fn parse(name: &str, text: &str) -> Result<LoadedSpec, Box<ParseFailure>> {
    let (source, root) = load_root(name, text)?;
    let fail = |message, help, marker: Option<Marker>, len| failure(name, &source, text, message, help, marker, len);
    // Cluster blocks are an internally tagged enum, which serde buffers and so
    // loses every location inside; deserialise each block as its own type
    // first so a wrong type or missing key there is reported where it is.
    if let Some((e, node)) = first_cluster_error(&root) {
        let (message, help) = describe_type_error(&e);
        let (marker, len) = refine_marker(&node, &e);
        // serde's path (`sasl.password`) finds the value when the error has no
        // better location of its own.
        // serde's path ends at the unknown key's value; the key itself is
        // what to point at there.
        let by_path = e.path().and_then(|p| marker_at_path(&node, p));
        let unknown_key = failure_is_unknown_key(&e);
        let marker = if unknown_key { marker.or(by_path) } else { by_path.or(marker) };
        let marker = marker.or_else(|| node.span().start().copied());
        let mut failure = fail(message, help, marker, len);
        if failure.problem.finding.message.contains("literal secret") {
            failure.problem.span = None;
        }
        return Err(failure);
    }
    let spec = typed::<Spec>(name, &source, text, &root)?;
    let document = Document::new(name, source.clone(), text, root);
    Ok(LoadedSpec { name: name.to_owned(), source, spec, policies: Vec::new(), today: None, document })
}

/// Parses `text` as a document of type `T`, named `name` in messages, with
/// the same checks and locations as a spec: what a ConfigMap's
/// `topics.yaml` is read with.
pub(crate) fn parse_document<T: serde::de::DeserializeOwned>(
    name: &str,
    text: &str,
) -> Result<(T, Document), Box<ParseFailure>> {
    let (source, root) = load_root(name, text)?;
    let value = typed::<T>(name, &source, text, &root)?;
    Ok((value, Document::new(name, source, text, root)))
}

/// The document's nodes, after the structural checks, and its text with
/// literal secrets masked (error snippets show lines around the problem,
/// and a literal secret on any of them must not be shown; same length, so
/// every location stays right).
fn load_root(name: &str, text: &str) -> Result<(Arc<String>, Node), Box<ParseFailure>> {
    let source = Arc::new(mask_literal_secrets(text));
    if let Err((message, help, line, column)) = check_structure(text) {
        return Err(failure_at(name, &source, text, message, Some(help), Some((line, column)), 1));
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true).toplevel_mapping();
    match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(root) => Ok((source, root)),
        Err(e) => {
            let (message, help, marker, len) = describe_load_error(&e);
            Err(failure(name, &source, text, message, help, marker, len))
        }
    }
}

/// `root` deserialised as `T`; a wrong type or unknown key is an error at
/// its location.
fn typed<T: serde::de::DeserializeOwned>(
    name: &str,
    source: &Arc<String>,
    text: &str,
    root: &Node,
) -> Result<T, Box<ParseFailure>> {
    marked_yaml::from_node::<T>(root).map_err(|e| {
        let (message, help) = describe_type_error(&e);
        let (marker, len) = refine_marker(root, &e);
        let mut failure = failure(name, source, text, message, help, marker, len);
        if failure.problem.finding.message.contains("literal secret") {
            // Keep file:line:col but never show the line: it holds the secret.
            failure.problem.span = None;
        }
        failure
    })
}

fn failure(
    name: &str,
    source: &Arc<String>,
    text: &str,
    message: String,
    help: Option<String>,
    marker: Option<Marker>,
    len: usize,
) -> Box<ParseFailure> {
    failure_at(name, source, text, message, help, marker.map(|m| (m.line(), m.column())), len)
}

fn failure_at(
    name: &str,
    source: &Arc<String>,
    text: &str,
    message: String,
    help: Option<String>,
    line_col: Option<(usize, usize)>,
    len: usize,
) -> Box<ParseFailure> {
    let finding = Finding { help, ..Finding::error(Pointer::default(), message) };
    let span = line_col.map(|(l, c)| (byte_offset(text, l, c), len.max(1)));
    Box::new(ParseFailure {
        name: name.to_owned(),
        source: source.clone(),
        problem: Located { finding, line_col, span, elsewhere: None },
    })
}

/// Nesting deeper than this is refused before the spec is parsed: a spec
/// needs about eight levels, and parsing and deserialising recurse once per
/// level, so thousands of levels (`- - - ... x`) would overflow the stack.
const MAX_DEPTH: usize = 64;

/// Refuses, with a location, what the loader would silently drop or could
/// not survive: a second YAML document (after `---` or `...`, valid or not)
/// and nesting deeper than [`MAX_DEPTH`]. The event parser used here keeps
/// its own stack, so it never recurses. A syntax error in the first document
/// is left to the loader, which names it best.
fn check_structure(text: &str) -> Result<(), (String, String, usize, usize)> {
    use yaml_rust2::parser::{Event, Parser};
    let another_document = |line, column| {
        Err((
            "a spec is one YAML document, but the file goes on after the first one ends".to_owned(),
            "remove the `---` / `...` and what follows it, or split the file into one spec per file".to_owned(),
            line,
            column,
        ))
    };
    let mut parser = Parser::new_from_str(text);
    let (mut depth, mut documents, mut first_ended) = (0usize, 0usize, false);
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(e) if first_ended => return another_document(e.marker().line(), 1),
            Err(_) => return Ok(()),
        };
        match event {
            Event::StreamEnd => return Ok(()),
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return another_document(mark.line(), 1);
                }
            }
            Event::DocumentEnd => first_ended = true,
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err((
                        format!("the spec nests deeper than {MAX_DEPTH} levels"),
                        "a spec needs a handful of levels (environments.NAME.cluster.sasl...); check for runaway `- ` or `[` / `{`".to_owned(),
                        mark.line(),
                        mark.col() + 1,
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
}

fn failure_is_unknown_key(e: &marked_yaml::FromNodeError) -> bool {
    match &**e {
        marked_yaml::Error::UnknownFieldError(..) => true,
        marked_yaml::Error::Other(msg, _) => msg.starts_with("unknown field"),
        _ => false,
    }
}

/// The start of the node at a dotted serde path (`sasl.password`, `bootstrapServers[0]`).
fn marker_at_path(node: &Node, path: &str) -> Option<Marker> {
    let mut current = node;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (key, index) = match seg.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (seg, None),
        };
        if !key.is_empty() {
            current = current.as_mapping()?.get_node(key)?;
        }
        if let Some(i) = index {
            current = current.as_sequence()?.get(i)?;
        }
    }
    current.span().start().copied()
}

/// The first cluster block that does not deserialise as the type its `type`
/// names, with the error and the block (without its `type` key).
fn first_cluster_error(root: &Node) -> Option<(marked_yaml::FromNodeError, Node)> {
    let envs = root.as_mapping()?.get_mapping("environments")?;
    for (_, env) in envs.iter() {
        let Some(cluster) = env.as_mapping().and_then(|e| e.get_node("cluster")) else { continue };
        let Some(map) = cluster.as_mapping() else { continue };
        let kind = map.get_scalar("type").map(|t| t.as_str().to_owned());
        let mut body = map.clone();
        body.retain(|k, _| k.as_str() != "type");
        let body = Node::Mapping(body);
        let result = match kind.as_deref() {
            Some("kafka") => marked_yaml::from_node::<super::model::KafkaCluster>(&body).err(),
            Some("eventhubs") => marked_yaml::from_node::<super::model::EventHubsCluster>(&body).err(),
            // A missing or unknown `type` is reported by the enum itself.
            _ => None,
        };
        if let Some(e) = result {
            return Some((e, body));
        }
    }
    None
}

fn describe_load_error(e: &marked_yaml::LoadError) -> (String, Option<String>, Option<Marker>, usize) {
    use marked_yaml::LoadError::*;
    match e {
        DuplicateKey(inner) => {
            let first = inner.prev_key.span().start().map(|m| m.line()).unwrap_or(0);
            (
                format!("duplicate key `{}` (first defined on line {first})", inner.key.as_str()),
                Some("YAML keeps only one of them; remove or rename the duplicate".into()),
                inner.key.span().start().copied(),
                inner.key.as_str().len(),
            )
        }
        ScanError(m, scan) => (format!("invalid YAML: {}", scan.info()), None, Some(*m), 1),
        TopLevelMustBeMapping(m) => {
            ("the spec must be a YAML mapping".into(), Some("start with `version: 1`".into()), Some(*m), 1)
        }
        UnexpectedAnchor(m) => (
            "YAML anchors and aliases are not supported".into(),
            Some("write the values out; use `defaults:` for shared settings".into()),
            Some(*m),
            1,
        ),
        UnexpectedTag(m) => ("YAML tags are not supported".into(), None, Some(*m), 1),
        MappingKeyMustBeScalar(m) => ("mapping keys must be plain strings".into(), None, Some(*m), 1),
        other => (other.to_string(), None, None, 1),
    }
}

fn describe_type_error(e: &marked_yaml::FromNodeError) -> (String, Option<String>) {
    use marked_yaml::Error::*;
    match &**e {
        UnknownFieldError(field, expected, _) => (
            format!("unknown key `{field}`"),
            Some(if expected.is_empty() {
                "remove it".to_owned()
            } else {
                format!("expected one of: {}", expected.join(", "))
            }),
        ),
        IntegerParseFailure(err, _) => (format!("expected a whole number: {err}"), None),
        NotBoolean(_) => ("expected `true` or `false`".into(), None),
        FloatParseFailure(err, _) => (format!("expected a number: {err}"), None),
        Other(msg, _) => {
            // serde's messages for internally tagged enums name the field in
            // backticks already; keep them, add advice for the common ones.
            let help = if msg.starts_with("unknown variant") {
                Some("check the spelling against `topicform schema`".to_owned())
            } else if msg.starts_with("missing field") {
                Some("add the key; `topicform schema` lists what each block needs".to_owned())
            } else {
                None
            };
            (msg.replace("unknown field", "unknown key"), help)
        }
    }
}

/// The error's own marker, or, for an unknown key reported on its parent
/// mapping (inside tagged enums), the key's own marker.
fn refine_marker(root: &Node, e: &marked_yaml::FromNodeError) -> (Option<Marker>, usize) {
    let marker = e.start_mark();
    let unknown = match &**e {
        marked_yaml::Error::UnknownFieldError(field, _, _) => Some(field.clone()),
        marked_yaml::Error::Other(msg, _) => {
            msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next()).map(str::to_owned)
        }
        _ => None,
    };
    match (&unknown, marker) {
        (Some(field), Some(m)) => {
            if let Some(key_marker) = find_key_under(root, m, field) {
                return (Some(key_marker), field.len());
            }
        }
        // Errors from inside tagged enums carry no span: the first key of
        // that name in the document is the best guess, and usually right.
        (Some(field), None) => {
            if let Some((key_marker, _)) = find_node(root, &|k, _| k == field) {
                return (Some(key_marker), field.len());
            }
        }
        _ => {}
    }
    if marker.is_none() {
        if let Some(found) = fallback_marker(root, e) {
            return found;
        }
    }
    (marker, 1)
}

/// Masks, byte for byte with `*`, everything written as the value of a
/// secret field except a well-formed reference: `password: hunter2`, but
/// also a malformed reference (`{ value: hunter2 }`, `{ envv: hunter2 }`,
/// `{ env: U, value: hunter2 }`, `{ hunter2: x }`, the same in block form,
/// block scalars and sequences), since whatever sits there may be the
/// secret. `{ env: NAME }` / `{ file: PATH }` (flow or block) stay readable.
/// Same length, so every location into the text stays right.
pub(crate) fn mask_literal_secrets(text: &str) -> String {
    static SECRET_KEY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // `\b`, not whole keys only: `sasl.password:` and `ssl.key.password:`
        // in clientConfig hold secrets too (`message.key:` values get masked
        // as well; a snippet may hide too much, never too little).
        regex::Regex::new(r"\b(?:username|password|key|clientSecret|connectionString)[ \t]*:").unwrap()
    });
    let b = text.as_bytes();
    let mut masked = b.to_vec();
    let closes = bracket_pairs(b);
    // Everything before this is masked already: a secret key inside a masked
    // value is skipped, so nested values cost one pass, not one per level.
    let mut masked_to = 0;
    for m in SECRET_KEY.find_iter(text) {
        if m.start() < masked_to {
            continue;
        }
        let mut i = m.end();
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        match b.get(i) {
            Some(b'{') | Some(b'[') => {
                // Unclosed (the loader will refuse the file): to the line's end.
                let end = closes.get(&i).copied().unwrap_or_else(|| line_end(b, i));
                if !is_reference(&text[i + 1..end]) {
                    mask(&mut masked, i + 1, end);
                    masked_to = end;
                }
            }
            None | Some(b'\n') | Some(b'\r') | Some(b'#') | Some(b'|') | Some(b'>') => {
                // From the `:`: the match may begin on the line before
                // (the newline in front of a key at column 0).
                let (start, end) = block_below(b, m.end() - 1);
                if !is_reference(&text[start..end]) {
                    mask(&mut masked, start, end);
                    masked_to = end;
                }
            }
            Some(_) => {
                let end = b[i..].iter().position(|c| b",}]\n#".contains(c)).map_or(b.len(), |n| i + n);
                mask(&mut masked, i, end);
            }
        }
    }
    String::from_utf8(masked).expect("only whole characters are replaced, by ASCII")
}

/// Replaces every non-space character of `bytes[start..end]` with `*`
/// (each byte of a multi-byte character, so lengths stay).
fn mask(bytes: &mut [u8], start: usize, end: usize) {
    for c in &mut bytes[start..end] {
        if !c.is_ascii_whitespace() {
            *c = b'*';
        }
    }
}

/// Every bracket pair of `text` (`{`/`[` offset -> closing offset), in one
/// pass. Brackets inside quotes count too: this only decides what to mask.
fn bracket_pairs(b: &[u8]) -> HashMap<usize, usize> {
    let mut open = Vec::new();
    let mut pairs = HashMap::new();
    for (n, c) in b.iter().enumerate() {
        match c {
            b'{' | b'[' => open.push(n),
            b'}' | b']' => {
                if let Some(o) = open.pop() {
                    pairs.insert(o, n);
                }
            }
            _ => {}
        }
    }
    pairs
}

/// The offset of the end of the line holding `at`.
fn line_end(b: &[u8], at: usize) -> usize {
    b[at..].iter().position(|c| *c == b'\n').map_or(b.len(), |n| at + n)
}

/// The lines below the line holding `at` that are indented deeper than it
/// (blank lines included): a block value.
fn block_below(b: &[u8], at: usize) -> (usize, usize) {
    let line_start = b[..at].iter().rposition(|c| *c == b'\n').map_or(0, |n| n + 1);
    let indent = |from: usize| b[from..].iter().take_while(|c| **c == b' ' || **c == b'\t').count();
    let key_indent = indent(line_start);
    let start = b[at..].iter().position(|c| *c == b'\n').map_or(b.len(), |n| at + n + 1);
    let mut end = start;
    while end < b.len() {
        let line_end = b[end..].iter().position(|c| *c == b'\n').map_or(b.len(), |n| end + n + 1);
        let blank = b[end..line_end].iter().all(|c| c.is_ascii_whitespace());
        if !blank && indent(end) <= key_indent {
            break;
        }
        end = line_end;
    }
    (start, end)
}

/// Whether a secret field's value is exactly one `env:` or `file:` entry.
fn is_reference(value: &str) -> bool {
    // A reference is one short line; anything long is not one (and the
    // regex need not read it).
    if value.len() > 4_096 {
        return false;
    }
    static REFERENCE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"^\s*(?:env|file)[ \t]*:[ \t]*[^\s,{}\[\]#][^,{}\[\]#\n]*\s*$"#).unwrap()
    });
    REFERENCE.is_match(value)
}

/// Secret fields of the model: a scalar here is a literal secret.
const SECRET_KEYS: [&str; 5] = ["username", "password", "key", "clientSecret", "connectionString"];

/// Errors raised inside tagged enums (the `cluster:` block) carry no span.
/// Find the node they are about from the message: the literal secret, or the
/// unknown variant's value.
fn fallback_marker(root: &Node, e: &marked_yaml::FromNodeError) -> Option<(Option<Marker>, usize)> {
    let marked_yaml::Error::Other(msg, _) = &**e else {
        return None;
    };
    if msg.contains("literal secret") {
        return find_node(root, &|k, v| SECRET_KEYS.contains(&k) && matches!(v, Node::Scalar(_)))
            .map(|(k, _)| (Some(k), 1));
    }
    let variant = msg.strip_prefix("unknown variant `").and_then(|r| r.split('`').next())?;
    find_node(root, &|_, v| matches!(v, Node::Scalar(s) if s.as_str() == variant))
        .map(|(_, v)| (Some(v), variant.len()))
}

/// The first mapping entry (depth first) for which `pred(key, value)` holds:
/// the key's and the value's markers.
fn find_node(node: &Node, pred: &dyn Fn(&str, &Node) -> bool) -> Option<(Marker, Marker)> {
    match node {
        Node::Mapping(map) => map.iter().find_map(|(k, v)| {
            if pred(k.as_str(), v) {
                Some((*k.span().start()?, *v.span().start()?))
            } else {
                find_node(v, pred)
            }
        }),
        Node::Sequence(seq) => seq.iter().find_map(|n| find_node(n, pred)),
        Node::Scalar(_) => None,
    }
}

/// Finds the key `field` in the mapping that starts at `at` (or whose key
/// starts at `at`).
fn find_key_under(node: &Node, at: Marker, field: &str) -> Option<Marker> {
    let same = |m: Option<&Marker>| m.is_some_and(|m| m.line() == at.line() && m.column() == at.column());
    match node {
        Node::Mapping(map) => {
            if same(map.span().start()) {
                if let Some((k, _)) = map.iter().find(|(k, _)| k.as_str() == field) {
                    return k.span().start().copied();
                }
            }
            for (k, v) in map.iter() {
                if same(k.span().start()) && k.as_str() == field {
                    return k.span().start().copied();
                }
                if let Some(found) = find_key_under(v, at, field) {
                    return Some(found);
                }
            }
            None
        }
        Node::Sequence(seq) => seq.iter().find_map(|n| find_key_under(n, at, field)),
        Node::Scalar(_) => None,
    }
}

impl LoadedSpec {
    /// Resolves a finding's YAML path to a location in the file. A path that
    /// does not exist (a default that was never written) points at its
    /// deepest existing parent.
    pub(crate) fn locate(&self, finding: Finding) -> Located {
        self.document.locate(finding)
    }
}

impl Document {
    fn new(name: &str, source: Arc<String>, text: &str, root: Node) -> Document {
        Document {
            text: Arc::new(SourceText { name: name.to_owned(), text: source }),
            root,
            line_starts: line_starts(text),
        }
    }

    /// A finding located in this document, named as it is when it is not
    /// the spec file.
    pub(crate) fn locate_elsewhere(&self, finding: Finding) -> Located {
        Located { elsewhere: Some(self.text.clone()), ..self.locate(finding) }
    }

    /// Resolves a finding's YAML path to a location in the document. A path
    /// that does not exist (a default that was never written) points at its
    /// deepest existing parent.
    pub(crate) fn locate(&self, mut finding: Finding) -> Located {
        if let Some(also) = finding.also.take() {
            if let Some((line, column)) = self.locate(Finding::error(also, "")).line_col {
                let other = format!("the other side is at {}:{line}:{column}", self.text.name);
                finding.help = Some(match finding.help.take() {
                    Some(help) => format!("{help}; {other}"),
                    None => other,
                });
            }
        }
        let mut node = &self.root;
        let mut marker = node.span().start().copied();
        let mut len = 1;
        for (i, seg) in finding.at.path.iter().enumerate() {
            let last = i + 1 == finding.at.path.len();
            let next = match (seg, node) {
                (Seg::Key(k), Node::Mapping(map)) => map.get_key_value(k.as_str()).map(|(key, value)| {
                    if last && finding.at.at_key {
                        (key.span().start().copied(), key.as_str().len(), value)
                    } else {
                        (
                            value.span().start().copied().or(key.span().start().copied()),
                            scalar_len(value, key.as_str().len()),
                            value,
                        )
                    }
                }),
                (Seg::Index(i), Node::Sequence(seq)) => {
                    seq.get(*i).map(|v| (v.span().start().copied(), scalar_len(v, 1), v))
                }
                _ => None,
            };
            match next {
                Some((m, l, n)) => {
                    marker = m.or(marker);
                    len = l;
                    node = n;
                }
                None => break,
            }
        }
        let line_col = marker.map(|m| (m.line(), m.column()));
        let span = line_col.map(|(l, c)| (self.byte_offset(l, c), len.max(1)));
        Located { finding, line_col, span, elsewhere: None }
    }

    /// [`byte_offset`] from the line index: O(column), not O(file).
    fn byte_offset(&self, line: usize, column: usize) -> usize {
        let source = &self.text.text;
        let start = self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(source.len());
        let col_bytes: usize = source[start..].chars().take(column.saturating_sub(1)).map(char::len_utf8).sum();
        (start + col_bytes).min(source.len())
    }
}

fn scalar_len(node: &Node, fallback: usize) -> usize {
    match node {
        Node::Scalar(s) => s.as_str().len(),
        _ => fallback,
    }
}

/// The byte offset where each line of `text` starts.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// Byte offset of 1-based `line`, `column` (in characters) within `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let rest = &text[line_start.min(text.len())..];
    let col_bytes: usize = rest.chars().take(column.saturating_sub(1)).map(char::len_utf8).sum();
    (line_start + col_bytes).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_secrets_are_masked_in_place() {
        let text = "sasl:\n  username: { env: U }\n  password: hunter2 # note\ntls: { key: abc, caFile: /x }\n";
        let masked = mask_literal_secrets(text);
        assert_eq!(masked.len(), text.len());
        assert_eq!(
            masked,
            "sasl:\n  username: { env: U }\n  password: ******* # note\ntls: { key: ***, caFile: /x }\n"
        );
    }

    #[test]
    fn whatever_sits_in_a_secret_field_is_masked_unless_it_is_a_reference() {
        let shapes = [
            "password: hunter2\n",
            "password: \"hunter2\"\n",
            "password: { value: hunter2 }\n",
            "password: { envv: hunter2 }\n",
            "password: { env: U, file: /x, value: hunter2 }\n",
            "password: { hunter2: x }\n",
            "password: [hunter2]\n",
            "password:\n  value: hunter2\nnext: 1\n",
            "password:\n  envv: hunter2\n",
            "password:\n  env: U\n  value: hunter2\n",
            "password:\n  hunter2: x\n",
            "password:\n  - hunter2\n",
            "password: |\n  hunter2\n",
            "sasl: { mechanism: PLAIN, password: { value: hunter2 } }\n",
            "clientSecret:   # the app's\n    value: hunter2\n",
            "a: 1\npassword:\n  value: hunter2\nb: 2\n",
            "clientConfig: { sasl.password: hunter2 }\n",
            "clientConfig:\n  ssl.key.password: hunter2\n",
            "password: { hunter2\n",
        ];
        for text in shapes {
            let masked = mask_literal_secrets(text);
            assert_eq!(masked.len(), text.len(), "{text}");
            assert!(!masked.contains("hunter2"), "{text:?} -> {masked:?}");
        }
        assert!(mask_literal_secrets("password:\n  value: hunter2\nnext: 1\n").ends_with("next: 1\n"));
        for reference in [
            "password: { env: KAFKA_PASSWORD }\n",
            "password: {file: /etc/kafka/password}\n",
            "password:\n  env: KAFKA_PASSWORD\n",
            "key:\n  file: /etc/tls/key.pem  \n",
        ] {
            assert_eq!(mask_literal_secrets(reference), reference);
        }
        assert_eq!(mask_literal_secrets("password: pässwörd\n").len(), "password: pässwörd\n".len());
    }

    #[test]
    fn unclosed_and_nested_brackets_are_masked_without_a_rescan_per_key() {
        // Each `password: {` once scanned to the end of the file (minutes for
        // 1 MB); bracket pairs are now found in one pass and a key inside a
        // masked value is skipped. Tens of thousands of keys must stay cheap.
        let unclosed = "password: { s3cr3t\n".repeat(50_000);
        assert!(!mask_literal_secrets(&unclosed).contains("s3cr3t"));
        let nested = format!("{}s3cr3t{}", "password: { ".repeat(50_000), "}".repeat(50_000));
        let masked = mask_literal_secrets(&nested);
        assert_eq!(masked.len(), nested.len());
        assert!(!masked.contains("s3cr3t"));
    }

    #[test]
    fn byte_offsets_follow_lines_and_characters() {
        let text = "a: 1\nbé: 2\n";
        assert_eq!(byte_offset(text, 1, 1), 0);
        assert_eq!(byte_offset(text, 2, 1), 5);
        assert_eq!(byte_offset(text, 2, 4), 9);
    }
}
