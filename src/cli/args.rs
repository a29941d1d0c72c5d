//! Command-line arguments. Only this module knows clap; doc comments are the
//! help text (snapshot-tested in tests/cli.rs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Reconcile Kafka and Event Hubs topics with a declarative YAML spec.
///
/// Exit codes: 0 success / in sync; 1 error (bad input, unreachable cluster,
/// refused change); 2 changes pending (plan --detailed-exitcode); 130 / 143
/// apply stopped by SIGINT / SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "topicform", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,

    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Log format on stderr: `text` for people, `json` for CI and Kubernetes.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, help_heading = "Global options")]
    pub log_format: LogFormat,

    /// Log filter (e.g. `debug`, `topicform=trace`); RUST_LOG also works.
    #[arg(long, global = true, env = "TOPICFORM_LOG", default_value = "warn", help_heading = "Global options")]
    pub log_level: String,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the spec offline: syntax, keys, types, names, secrets, tier limits.
    Validate(ValidateArgs),
    /// Show what apply would change, without changing anything.
    Plan(PlanArgs),
    /// Change the cluster to match the spec (after showing the plan).
    Apply(ApplyArgs),
    /// Write a spec for the topics that exist on a cluster.
    Export(ExportArgs),
    /// Print the broker environment a service needs (KAFKA_BROKERS, ...).
    Env(EnvArgs),
    /// Connect and authenticate like a service; report each step and what fails.
    Check(CheckArgs),
    /// Consumer-group lag: the end of each partition minus the committed offset.
    Lag(LagArgs),
    /// Keep the cluster in sync: apply on every change of the spec or of a
    /// contributing ConfigMap, and every --interval; one replica leads
    /// through the cluster's Lease.
    Controller(ControllerArgs),
    /// Print the JSON Schema of the spec (or of a shared policy file).
    Schema {
        /// The schema of a `--policy` file instead of the spec's.
        #[arg(long)]
        policy: bool,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Validate(_) => "validate",
            Command::Plan(_) => "plan",
            Command::Apply(_) => "apply",
            Command::Export(_) => "export",
            Command::Env(_) => "env",
            Command::Check(_) => "check",
            Command::Lag(_) => "lag",
            Command::Controller(_) => "controller",
            Command::Schema { .. } => "schema",
            Command::Completions { .. } => "completions",
        }
    }

    /// Whether the command runs until stopped (its work is traced per
    /// reconcile or per refresh, each a trace of its own, not as one span
    /// that would only be exported at exit).
    pub fn runs_until_stopped(&self) -> bool {
        matches!(self, Command::Controller(_)) || matches!(self, Command::Lag(a) if a.serve.is_some())
    }
}

/// Which spec and environment.
#[derive(Debug, Args)]
pub struct Target {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value = "topicform.yaml", value_name = "FILE")]
    pub file: PathBuf,

    /// The environment of the spec to use.
    #[arg(short = 'e', long = "env", env = "TOPICFORM_ENV", value_name = "ENV")]
    pub env: Option<String>,
}

/// `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value = "topicform.yaml", value_name = "FILE")]
    pub file: PathBuf,

    /// Validate only this environment (default: all).
    #[arg(short = 'e', long = "env", env = "TOPICFORM_ENV", value_name = "ENV")]
    pub env: Option<String>,

    /// Validate every environment (the default when -e is not given; wins over TOPICFORM_ENV).
    #[arg(long)]
    pub all: bool,

    /// Another team's spec for the same clusters: fail where an environment
    /// of each pins the same `clusterId` and their `owns:` scopes overlap.
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    pub against: Vec<PathBuf>,

    /// Output on stdout: `text` (nothing; findings go to stderr) or `sarif`
    /// (SARIF 2.1.0, every finding, for GitHub code scanning). The exit
    /// code is the same either way.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ValidateFormat::Text)]
    pub output: ValidateFormat,

    /// Shared policy files.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `validate` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// Findings on stderr only.
    Text,
    /// SARIF 2.1.0 on stdout (findings on stderr too).
    Sarif,
}

/// Policy files that several specs share.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A policy file (the keys of the spec's `policy:`) checked with the
    /// spec's own rules; repeatable, or comma-separated in TOPICFORM_POLICY.
    #[arg(long = "policy", value_name = "FILE", env = "TOPICFORM_POLICY", value_delimiter = ',')]
    pub files: Vec<PathBuf>,
}

/// Flags that widen what a plan may do; plan and apply share them so the
/// plan shows exactly what apply will do.
#[derive(Debug, Args)]
pub struct WidenArgs {
    /// Delete topics not in the spec (only where the environment sets `prune: true`).
    #[arg(long)]
    pub allow_delete: bool,

    /// Remove config keys set on a topic but absent from the spec.
    #[arg(long)]
    pub prune_config: bool,
}

/// Connection options.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Timeout of each cluster request, in seconds (1-3000).
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3000))]
    pub timeout: u64,
}

/// `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Spec and environment.
    #[command(flatten)]
    pub target: Target,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Also write the plan as JSON to FILE, for `apply --plan FILE`.
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Exit 2 when there are changes to apply (0 in sync, 1 error).
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Where to record what this run did (a status ConfigMap and an Event):
    /// `kubernetes[:NAMESPACE]`, `none`, or `auto`: inside a pod its
    /// namespace, with a Kubernetes Lease lock the Lease's, else nowhere.
    #[arg(long, value_name = "WHERE", default_value = "auto")]
    pub status: topicform::k8s::status::StatusChoice,

    /// Shared policy files.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Widening flags.
    #[command(flatten)]
    pub widen: WidenArgs,

    /// Connection options.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Plan output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Text for people (coloured on a terminal unless NO_COLOR is set).
    Text,
    /// Stable JSON with `formatVersion`.
    Json,
    /// Markdown for pull-request comments.
    Markdown,
}

/// `apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Spec and environment.
    #[command(flatten)]
    pub target: Target,

    /// Apply this saved plan (from `plan --out`); refused if the cluster changed since.
    #[arg(long = "plan", value_name = "FILE")]
    pub plan: Option<PathBuf>,

    /// Apply without asking for confirmation.
    #[arg(long)]
    pub auto_approve: bool,

    /// Show the plan and stop; change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// How to make sure no other apply runs on the cluster meanwhile:
    /// `kubernetes[:NAMESPACE[/NAME]]` (a Lease named after the cluster, in
    /// the pod's or the kubeconfig context's namespace), `kafka[:GROUP]`
    /// (Kafka's group coordinator), `none`, or `auto`: the Lease inside a
    /// pod, else `kafka` on Kafka and `none` on Event Hubs. Default: the
    /// environment's `lock:`, else `auto`.
    #[arg(long, value_name = "LOCK")]
    pub lock: Option<topicform::lock::LockChoice>,

    /// How long to wait for another apply to release the lock.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_timeout: u64,

    /// Where to record what this run did (a status ConfigMap and an Event):
    /// `kubernetes[:NAMESPACE]`, `none`, or `auto`: inside a pod its
    /// namespace, with a Kubernetes Lease lock the Lease's, else nowhere.
    #[arg(long, value_name = "WHERE", default_value = "auto")]
    pub status: topicform::k8s::status::StatusChoice,

    /// Shared policy files.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Widening flags.
    #[command(flatten)]
    pub widen: WidenArgs,

    /// Connection options.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Spec and environment.
    #[command(flatten)]
    pub target: Target,

    /// Reconcile at least this often, changes or not.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..))]
    pub interval: u64,

    /// Leader election: `kubernetes[:NAMESPACE[/NAME]]` (the cluster's
    /// Lease, the one every apply takes, so no apply runs beside the
    /// controller), or `none` (one replica only). Default: the
    /// environment's `lock:` when it names Kubernetes, else `kubernetes`.
    #[arg(long, value_name = "LOCK")]
    pub lock: Option<topicform::lock::LockChoice>,

    /// Where to record each run (a status ConfigMap and an Event), as for apply.
    #[arg(long, value_name = "WHERE", default_value = "auto")]
    pub status: topicform::k8s::status::StatusChoice,

    /// Serve /healthz and /readyz here (e.g. `0.0.0.0:8080`).
    #[arg(long, value_name = "ADDR")]
    pub probe_address: Option<std::net::SocketAddr>,

    /// Shared policy files.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Widening flags, as for apply: deletes still need the environment's
    /// `prune: true`.
    #[command(flatten)]
    pub widen: WidenArgs,

    /// Connection options.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Spec and environment (the environment's cluster is read).
    #[command(flatten)]
    pub target: Target,

    /// Only topics whose name matches this regular expression.
    #[arg(long, value_name = "RE")]
    pub include: Option<String>,

    /// Leave out topics whose name matches this regular expression.
    #[arg(long, value_name = "RE")]
    pub exclude: Option<String>,

    /// What to write.
    #[arg(long, value_enum, default_value = "spec", value_name = "FORMAT")]
    pub format: ExportFormat,

    /// Connection options.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A spec of the cluster's topics, read from the cluster.
    Spec,
    /// The Azure Event Hubs emulator's Config.json for the environment's
    /// topics and consumer groups, from the spec alone (no cluster is read).
    EventhubsEmulator,
}

/// `env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Spec and environment.
    #[command(flatten)]
    pub target: Target,

    /// Output format (default `dotenv`; with --client, the library's own
    /// file, or `helm-values` for the service chart's `clientConfig:`).
    #[arg(long, value_enum)]
    pub format: Option<EnvFormatArg>,

    /// Print the settings this Kafka library needs for the environment
    /// instead of the variables: for Event Hubs the values of Microsoft's
    /// client guide, each with its source; for Apache Kafka nothing extra.
    #[arg(long, value_enum, value_name = "LIB", conflicts_with_all = ["service", "reveal_secrets"])]
    pub client: Option<ClientLibrary>,

    /// Print secret values instead of references (reads them from their
    /// `{ env }` / `{ file }` sources). Never use in CI logs.
    #[arg(long)]
    pub reveal_secrets: bool,

    /// Name of the Kubernetes Secret (k8s-secret, helm-values).
    #[arg(long, default_value = "kafka-broker", value_name = "NAME")]
    pub secret_name: String,

    /// The variables of one service of the spec's `services:`: its own SASL
    /// user and password (never topicform's) and its consumer group
    /// (KAFKA_GROUP_ID).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
}

/// The libraries `env --client` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClientLibrary {
    /// kafkajs: a CommonJS module of client, producer and consumer options.
    Kafkajs,
    /// librdkafka (node-rdkafka, confluent-kafka-python/-dotnet, kcat): properties.
    Librdkafka,
    /// The Apache Kafka Java client: client.properties.
    Java,
    /// confluent-kafka-go: librdkafka's properties, for a kafka.ConfigMap.
    ConfluentKafkaGo,
}

/// `env` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormatArg {
    /// NAME=value lines.
    Dotenv,
    /// export NAME=value lines, for eval.
    Shell,
    /// A JSON object.
    Json,
    /// A Kubernetes Secret and the env block referencing it.
    K8sSecret,
    /// The Helm charts' `broker:` values block.
    HelmValues,
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Spec and environment (not needed with --from-env).
    #[command(flatten)]
    pub target: Target,

    /// Check the KAFKA_* variables of this process (as a service's pod has
    /// them) instead of a spec environment.
    #[arg(long)]
    pub from_env: bool,

    /// Also produce one message to TOPIC and consume it back.
    #[arg(long, value_name = "TOPIC")]
    pub roundtrip: Option<String>,

    /// Also produce one message to TOPIC without reading it back (a topic
    /// the service writes: a producer needs no READ).
    #[arg(long, value_name = "TOPIC")]
    pub produce: Option<String>,

    /// Also prove least privilege: producing to TOPIC (one the service does
    /// not own) must be refused. If it is allowed, one message is written
    /// and the check fails.
    #[arg(long, value_name = "TOPIC")]
    pub denied: Option<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = CheckFormat::Text)]
    pub output: CheckFormat,

    /// Timeout of each step, in seconds (1-3000).
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3000))]
    pub timeout: u64,
}

/// `lag`.
#[derive(Debug, Args)]
pub struct LagArgs {
    /// Spec and environment.
    #[command(flatten)]
    pub target: Target,

    /// Only this consumer group (repeatable). Default: every group the
    /// environment's topics name in `consumers:`.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = LagFormat::Text)]
    pub output: LagFormat,

    /// Timeout of each request, in seconds (1-3000).
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3000))]
    pub timeout: u64,

    /// Serve the lag as Prometheus metrics on ADDR (`/metrics`, with
    /// kafka_exporter's names) until stopped, instead of printing it once.
    #[arg(long, value_name = "ADDR", conflicts_with = "output")]
    pub serve: Option<std::net::SocketAddr>,

    /// With --serve: seconds between two readings (scrapes in between get
    /// the last reading).
    #[arg(long, default_value_t = 30, value_name = "SECONDS", requires = "serve", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
}

/// `lag` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LagFormat {
    /// One block per group, one line per partition.
    Text,
    /// The report as JSON (`formatVersion: 1`).
    Json,
}

/// `check` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One line per step, with cause and fix for a failure.
    Text,
    /// The report as JSON.
    Json,
}
