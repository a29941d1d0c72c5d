//! The one error type of topicform. Every variant says what went wrong and,
//! through `help`, what to do next. Exit codes are mapped in `main.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use miette::{Diagnostic, NamedSource, SourceSpan};
use thiserror::Error;

use topicform_core::spec::{Located, Severity};

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong.
#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    /// The spec file could not be read.
    #[error("cannot read spec {path}: {source}")]
    #[diagnostic(code(topicform::spec::read), help("pass the spec with -f FILE (default ./topicform.yaml)"))]
    ReadSpec {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A shared policy file (`--policy FILE`) could not be read.
    #[error("cannot read policy file {path}: {problem}")]
    #[diagnostic(
        code(topicform::policy::read),
        help("--policy takes a YAML file of rules, the same keys as the spec's `policy:` (docs/spec-reference.md)")
    )]
    ReadPolicy {
        /// The path given.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },

    /// The spec file is not UTF-8 text.
    #[error("{path}: cannot read the spec: {problem}")]
    #[diagnostic(
        code(topicform::spec::encoding),
        help("save the spec as UTF-8 (YAML's default); most editors offer it under \"Save with encoding\"")
    )]
    SpecEncoding { path: String, problem: String },

    /// The spec has errors; each is a related diagnostic with its location.
    #[error("{name}: {errors} error(s) in the spec")]
    #[diagnostic(code(topicform::spec::invalid))]
    InvalidSpec {
        /// File name.
        name: String,
        /// Number of errors.
        errors: usize,
        /// Every finding, located.
        #[related]
        problems: Vec<SpecProblem>,
    },

    /// No environment was named.
    #[error("no environment given")]
    #[diagnostic(code(topicform::env::missing), help("pass -e ENV or set TOPICFORM_ENV; this spec defines: {known}"))]
    NoEnvironment {
        /// Environments the spec defines.
        known: String,
    },

    /// The named environment is not in the spec.
    #[error("environment `{name}` is not defined in {file}")]
    #[diagnostic(code(topicform::env::unknown), help("this spec defines: {known}"))]
    UnknownEnvironment {
        /// Name asked for.
        name: String,
        /// Spec file.
        file: String,
        /// Environments the spec defines.
        known: String,
    },

    /// An access token could not be obtained (Entra ID, OIDC, IMDS, az).
    #[error("cannot get a token from {source_name}: {message}")]
    #[diagnostic(code(topicform::auth::token), help("{help}"))]
    Token {
        /// The token source, e.g. `Entra ID workload identity (client ...)`.
        source_name: String,
        /// What went wrong (never a secret or token).
        message: String,
        /// What to do.
        help: String,
    },

    /// A secret reference could not be read.
    #[error("cannot read secret {reference}: {reason}")]
    #[diagnostic(
        code(topicform::secret),
        help("set the variable or mount the file; topicform never takes literal secrets")
    )]
    Secret {
        /// `env NAME` or `file PATH`, never the value.
        reference: String,
        reason: String,
    },

    /// The cluster cannot be used: the step of `check` that fails (DNS, TCP,
    /// TLS, SASL, metadata), with its cause and fix.
    #[error("cannot use the Kafka cluster at {bootstrap}: {cause} ({step}: {detail})")]
    #[diagnostic(code(topicform::kafka::unreachable), help("{fix} (`topicform check` shows every step)"))]
    Unreachable {
        /// Bootstrap servers.
        bootstrap: String,
        /// The failing step of `check`: `dns`, `tcp`, `tls`, `sasl`, `metadata`, ...
        step: String,
        /// What was seen (librdkafka's or the socket's message).
        detail: String,
        cause: String,
        fix: String,
    },

    /// `env --service` named a service the spec does not declare, or one
    /// that cannot be given credentials of its own here.
    #[error("{problem}")]
    #[diagnostic(code(topicform::env::service), help("{help}"))]
    Service {
        /// What is wrong.
        problem: String,
        /// What to do.
        help: String,
    },

    /// A Kafka admin or metadata call failed as a whole.
    #[error("{operation} failed: {message}")]
    #[diagnostic(
        code(topicform::kafka::request),
        help(
            "the message is the broker's; nothing was changed by this request, and running the command again is safe"
        )
    )]
    Kafka {
        /// What was being done.
        operation: String,
        /// The broker's or librdkafka's message.
        message: String,
    },

    /// The environment's services name principals, and the cluster has no
    /// authorizer to grant them anything.
    #[error("the cluster has no authorizer, so the services' ACLs cannot be read or granted ({message})")]
    #[diagnostic(
        code(topicform::kafka::no_authorizer),
        help(
            "enable one on the brokers (KRaft: `authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer`, with topicform's principal in `super.users` or granted ALTER on the cluster), or remove the services' `principals:` for this environment"
        )
    )]
    NoAuthorizer {
        /// The broker's message.
        message: String,
    },

    /// The cluster is not the one the environment pins.
    #[error("environment `{env}` pins cluster id `{expected}`, but the brokers report `{actual}`")]
    #[diagnostic(
        code(topicform::cluster::mismatch),
        help("you are pointing at the wrong cluster; check the bootstrap servers, or update `clusterId` if the cluster was rebuilt")
    )]
    ClusterIdMismatch {
        env: String,
        /// Pinned id.
        expected: String,
        /// Reported id.
        actual: String,
    },

    /// The plan has refused changes; nothing was applied.
    #[error("{count} change(s) refused; nothing was applied")]
    #[diagnostic(code(topicform::plan::refused), help("fix the spec as each `! refused` line says, then plan again"))]
    Refused {
        /// Number of refused topics.
        count: usize,
    },

    /// A saved plan no longer matches the cluster.
    #[error("the saved plan {path} is stale: {reason}")]
    #[diagnostic(
        code(topicform::plan::stale),
        help("run `topicform plan --out {path}` again and review the new plan")
    )]
    StalePlan {
        /// Plan file.
        path: String,
        /// What changed.
        reason: String,
    },

    /// A saved plan was made with a widening flag that apply was not given.
    #[error("the saved plan {path} was made with {flag}")]
    #[diagnostic(
        code(topicform::plan::flag),
        help("pass {flag} to apply it too, so deleting is always asked for twice")
    )]
    PlanNeedsFlag {
        /// Plan file.
        path: String,
        /// The missing flag.
        flag: String,
    },

    /// A saved plan could not be read.
    #[error("cannot read plan {path}: {reason}")]
    #[diagnostic(code(topicform::plan::read), help("pass a file written by `topicform plan --out`"))]
    ReadPlan {
        /// Plan file.
        path: String,
        reason: String,
    },

    /// Apply needs confirmation but cannot ask.
    #[error("apply needs confirmation, but stdin is not a terminal")]
    #[diagnostic(
        code(topicform::apply::confirm),
        help("review the plan and pass --auto-approve to apply without asking")
    )]
    NeedsApproval,

    /// The user answered no.
    #[error("apply cancelled; nothing was changed")]
    #[diagnostic(code(topicform::apply::cancelled), help("answer `yes` to apply, or pass --auto-approve in CI"))]
    Cancelled,

    /// Some changes failed; the rest were applied.
    #[error("{failed} of {total} change(s) failed")]
    #[diagnostic(
        code(topicform::apply::partial),
        help("the failures are listed above; apply is idempotent: fix the cause and run it again to converge")
    )]
    ApplyFailed {
        /// Failed changes.
        failed: usize,
        /// All changes.
        total: usize,
    },

    /// The apply lock could not be set up.
    #[error("cannot take the apply lock: {reason}")]
    #[diagnostic(code(topicform::lock::unavailable), help("{fix}"))]
    Lock { reason: String, fix: String },

    /// Another apply held the lock for longer than `--lock-timeout`.
    #[error("another apply is running on this cluster: {holder} holds the lock ({lock}); waited {waited} s")]
    #[diagnostic(
        code(topicform::lock::held),
        help("wait for it and run again, or give it more time with --lock-timeout SECONDS; a holder that died releases the lock after {freed_after} s")
    )]
    LockHeld {
        /// `group `…`` or `Lease NAMESPACE/NAME`.
        lock: String,
        holder: String,
        waited: u64,
        /// Seconds after which a dead holder's lock is taken over.
        freed_after: u64,
    },

    /// A Kubernetes API call failed (the Lease, the status object, Events).
    #[error("Kubernetes: cannot {what}: {cause}")]
    #[diagnostic(code(topicform::kubernetes), help("{fix}"))]
    Kubernetes {
        what: String,
        cause: String,
        fix: String,
        /// The API server answered 403, or there is no Kubernetes to ask:
        /// what `--lock auto` in a pod may fall back from.
        forbidden: bool,
    },

    /// A ConfigMap the spec's `from:` selects cannot contribute topics.
    #[error("{owner} cannot contribute topics: {problem}")]
    #[diagnostic(code(topicform::contribution), help("{fix}"))]
    Contribution { owner: String, problem: String, fix: String },

    /// Contributed declarations refused because an older owner declared
    /// the topic differently (everything else was planned or applied).
    #[error("{count} contributed topic declaration(s) refused (ResourceConflict):{conflicts}")]
    #[diagnostic(
        code(topicform::resource_conflict),
        help("make the newer declaration match the older one, or drop it (a consumer may name the topic without settings); the older owner's declaration stands")
    )]
    Conflicts {
        count: usize,
        /// One `\n  - description` line each.
        conflicts: String,
    },

    /// A signal stopped apply before every change was sent.
    #[error("apply was interrupted by {signal}: {applied} change(s) applied, {failed} failed, {not_sent} not sent")]
    #[diagnostic(
        code(topicform::apply::interrupted),
        help("the report above lists each change; apply is idempotent: run it again to finish")
    )]
    Interrupted {
        /// `SIGINT` or `SIGTERM`.
        signal: String,
        /// Exit code a shell gives that signal (130, 143).
        exit_code: u8,
        applied: usize,
        failed: usize,
        not_sent: usize,
    },

    /// Writing output failed.
    #[error("cannot write {what}: {source}")]
    #[diagnostic(code(topicform::io), help("check that the directory exists and is writable"))]
    Write {
        /// What was being written.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// `env --client` with a format that has no client form.
    #[error("--client and --format {format} do not go together")]
    #[diagnostic(
        code(topicform::env::client_format),
        help("--client prints the library's own file; add --format helm-values for the service chart's `clientConfig:` block")
    )]
    ClientFormat {
        /// The format given.
        format: String,
    },

    /// `check --from-env` found unusable variables.
    #[error("{message}")]
    #[diagnostic(code(topicform::check::input), help("{help}"))]
    CheckInput {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },

    /// `check` found a step that fails; the report above says which and why.
    #[error("check failed at step `{step}`: {cause}")]
    #[diagnostic(code(topicform::check::failed), help("{fix}"))]
    CheckFailed {
        /// The failing step.
        step: String,
        cause: String,
        /// What to do.
        fix: String,
    },

    /// A regular expression given on the command line is invalid.
    #[error("invalid {flag} pattern: {source}")]
    #[diagnostic(code(topicform::cli::regex), help("{flag} takes a regular expression, e.g. '^orders\\.'"))]
    Pattern {
        /// The flag.
        flag: String,
        /// The regex error.
        source: regex::Error,
    },

    /// An Azure Resource Manager request failed (after retries where they
    /// make sense). `detail` holds the HTTP status, ARM's error code and
    /// message and the `x-ms-request-id`; never a token.
    #[error("ARM: {operation} `{resource}` failed: {detail}")]
    #[diagnostic(code(topicform::eventhubs::arm), help("{help}"))]
    Arm {
        /// What topicform was doing, e.g. `writing event hub`.
        operation: String,
        /// The ARM resource path.
        resource: String,
        /// Status, ARM code and message, request id.
        detail: String,
        /// What to do, by status.
        help: String,
    },

    /// The Event Hubs namespace is not one this environment may reconcile
    /// (tier differs from the spec, Kafka disabled, not Active). Nothing
    /// was changed.
    #[error("environment `{env}`: namespace `{namespace}` refused: {problem}")]
    #[diagnostic(code(topicform::eventhubs::namespace), help("{help}; nothing was changed"))]
    NamespaceRefused {
        env: String,
        /// Namespace name.
        namespace: String,
        /// What is wrong with it.
        problem: String,
        /// What to do.
        help: String,
    },

    /// The plan does not fit the live namespace's quotas or rules; found
    /// before the first write, so nothing was changed.
    #[error("environment `{env}`: the plan does not fit namespace `{namespace}`; nothing was changed:{problems}")]
    #[diagnostic(
        code(topicform::eventhubs::limits),
        help("change the spec (fewer topics or partitions, shorter retention), raise the namespace's capacity, or move topics to another namespace; then plan again")
    )]
    EventHubsLimits {
        env: String,
        /// Namespace name.
        namespace: String,
        /// One `\n  - problem` line each.
        problems: String,
    },

    /// A plan that would change a topic Kafka or its ecosystem owns.
    #[error("refusing to apply: the plan changes internal topic(s) {topics}; nothing was changed")]
    #[diagnostic(
        code(topicform::apply::internal_topic),
        help("topicform never changes internal topics (`__*`, `_schemas`, `_confluent*`); plans never include them, so the plan file was edited: plan again")
    )]
    InternalTopics {
        /// The topics, quoted, comma-separated.
        topics: String,
    },

    #[error("the Event Hubs emulator cannot hold environment `{env}`'s topics:{problems}")]
    #[diagnostic(
        code(topicform::export::emulator),
        help("the emulator holds one namespace with at most 10 event hubs of 1-32 partitions and 20 consumer groups each (README, \"The Event Hubs emulator\"); nothing was written")
    )]
    Emulator {
        env: String,
        /// One `\n  - ` line per problem.
        problems: String,
    },

    #[error("refusing to apply: the plan changes topic(s) {topics} outside what the environment owns ({owns}); nothing was changed")]
    #[diagnostic(
        code(topicform::apply::foreign_topic),
        help("a topic outside `owns:` belongs to another team and plans never change it, so the plan file was edited: plan again")
    )]
    ForeignTopics {
        /// The topics, quoted, comma-separated.
        topics: String,
        /// `owns: [...]`.
        owns: String,
    },
}

/// One located spec finding, rendered by miette with the source line.
#[derive(Debug, Error)]
#[error("{location}: {message}")]
pub struct SpecProblem {
    /// `file:line:col`.
    pub location: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: Option<String>,
    /// Error or warning.
    pub severity: Severity,
    src: NamedSource<Arc<String>>,
    span: Option<SourceSpan>,
}

impl Diagnostic for SpecProblem {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.span.map(|_| &self.src as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.span.map(|s| Box::new(std::iter::once(miette::LabeledSpan::new_with_span(Some("here".into()), s))) as _)
    }
}

impl SpecProblem {
    /// Builds a problem from a located finding in file `name` with `source`.
    pub fn new(name: &str, source: &Arc<String>, located: &Located) -> Self {
        let location = located.location(name);
        // A finding in a contributed topic names its ConfigMap.
        let (name, source) = match &located.elsewhere {
            Some(document) => (document.name.as_str(), &document.text),
            None => (name, source),
        };
        SpecProblem {
            location,
            message: located.finding.message.clone(),
            help: located.finding.help.clone(),
            severity: located.finding.severity,
            src: NamedSource::new(name, source.clone()),
            span: located
                .span
                .filter(|(offset, _)| !on_a_long_line(source, *offset))
                .map(|(o, l)| SourceSpan::new(o.into(), l)),
        }
    }
}

/// Findings shown one by one; past this, one line says how many more there
/// are. Each snippet costs a pass over the file, and nobody reads 20,000.
pub const FINDINGS_SHOWN: usize = 50;

impl SpecProblem {
    /// The first [`FINDINGS_SHOWN`] of `found` (errors first, as sorted),
    /// then one summary of the rest.
    pub fn shown(name: &str, source: &Arc<String>, found: &[Located]) -> Vec<SpecProblem> {
        let mut shown: Vec<SpecProblem> =
            found.iter().take(FINDINGS_SHOWN).map(|l| SpecProblem::new(name, source, l)).collect();
        let rest = &found[found.len().min(FINDINGS_SHOWN)..];
        if let Some(first) = rest.first() {
            let errors = rest.iter().filter(|l| l.finding.is_error()).count();
            shown.push(SpecProblem {
                location: name.to_owned(),
                message: format!(
                    "{} more finding(s) not shown ({errors} error(s), {} warning(s))",
                    rest.len(),
                    rest.len() - errors
                ),
                help: Some("fix the ones above and validate again; `--log-format json` lists every one".into()),
                severity: first.finding.severity,
                src: NamedSource::new(name, source.clone()),
                span: None,
            });
        }
        shown
    }
}

/// Lines longer than this get no snippet, only `file:line:col`: a generated
/// one-line spec is unreadable as a snippet, and miette's renderer panics
/// on columns past 65,534.
const SNIPPET_MAX_LINE: usize = 4_096;

/// Whether the line holding byte `offset` of `source` is too long to show.
fn on_a_long_line(source: &str, offset: usize) -> bool {
    let offset = offset.min(source.len());
    let start = source.as_bytes()[..offset].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let end = source.as_bytes()[offset..].iter().position(|b| *b == b'\n').map_or(source.len(), |i| offset + i);
    end - start > SNIPPET_MAX_LINE
}

impl Error {
    /// The process exit code for this error: 1, or 128 + the signal number
    /// for an apply a signal stopped.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Interrupted { exit_code, .. } => *exit_code,
            _ => 1,
        }
    }

    /// An `InvalidSpec` error from located findings (errors and warnings).
    pub fn invalid_spec(name: &str, source: &Arc<String>, found: &[Located]) -> Self {
        Error::InvalidSpec {
            name: name.to_owned(),
            errors: found.iter().filter(|l| l.finding.is_error()).count(),
            problems: SpecProblem::shown(name, source, found),
        }
    }
}
