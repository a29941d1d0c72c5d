//! The command line: clap types in [`args`], one `cmd_*` function per
//! subcommand here, terminal helpers in [`term`].

pub mod args;
pub mod logging;
mod signals;
pub mod telemetry;
mod term;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;

use args::{
    ApplyArgs, CheckArgs, CheckFormat, EnvArgs, EnvFormatArg, ExportArgs, OutputFormat, PlanArgs, ValidateArgs,
    ValidateFormat, WidenArgs,
};
pub use args::{Cli, Command, LogFormat};

use topicform::apply::Signal;
use topicform::backend::{ConnectedBackend, Scope};
use topicform::error::SpecProblem;
use topicform::k8s::contributions::Contributions;
use topicform::k8s::status::StatusChoice;
use topicform::k8s::status::{RunOutcome, StatusWriter};
use topicform::lock::ApplyLock;
use topicform::ops::{self, ExportFilter};
use topicform::render::{self, PlanFormat};
use topicform::telemetry::{phase, phase_sync, set_environment};
use topicform::{Error, Result};
use topicform_core::plan::{Plan, PlanOptions, SpecWarning};
use topicform_core::spec::{Conflict, Located, ResolvedEnvironment, UnsetVars};

/// What a successful command tells `main` to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 2: changes pending (`plan --detailed-exitcode`).
    ChangesPending,
}

/// Runs the parsed command line, as one trace unless the command runs until
/// stopped (the controller and `lag --serve` trace each run of their own).
pub async fn run(cli: Cli) -> Result<Outcome> {
    match cli.command.runs_until_stopped() {
        true => run_command(cli).await,
        false => telemetry::traced(cli.command.name(), run_command(cli)).await,
    }
}

async fn run_command(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Validate(a) => cmd_validate(a),
        Command::Plan(a) => cmd_plan(a).await,
        Command::Apply(a) => cmd_apply(a).await,
        Command::Export(a) => cmd_export(a).await,
        Command::Env(a) => cmd_env(a),
        Command::Check(a) => cmd_check(a).await,
        Command::Lag(a) => cmd_lag(a).await,
        Command::Controller(a) => cmd_controller(a).await,
        Command::Schema { policy } => {
            print_stdout(&if policy { policy_schema_json() } else { schema_json() })?;
            Ok(Outcome::Success)
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "topicform", &mut std::io::stdout());
            Ok(Outcome::Success)
        }
    }
}

/// The JSON Schema of the spec, as `topicform schema` prints it and as
/// `schema/topicform.schema.json` keeps it.
pub fn schema_json() -> String {
    pretty_schema(&topicform_core::spec_schema())
}

/// The JSON Schema of a shared policy file, as `topicform schema --policy`
/// prints it and `schema/policy.schema.json` keeps it.
pub fn policy_schema_json() -> String {
    pretty_schema(&topicform_core::policy_schema())
}

fn pretty_schema(schema: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(schema).expect("schema serialises");
    s.push('\n');
    s
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Prints command output with every secret value the process holds masked
/// (apply reports and checks relay the servers' own messages).
fn print_stdout(s: &str) -> Result<()> {
    print_stdout_unscrubbed(&topicform::secret::scrub(s))
}

/// Prints without scrubbing: only for `env --reveal`, whose output is the
/// secrets themselves, on request.
fn print_stdout_unscrubbed(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`topicform plan | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(source) => Err(Error::Write { what: "standard output".into(), source }),
    }
}

/// Prints warnings (and errors) on stderr with their source lines.
fn report_findings(name: &str, source: &std::sync::Arc<String>, found: &[Located]) {
    let problems = match logging::format() {
        // Machines get every finding; people the first ones and a count.
        LogFormat::Json => found.iter().map(|l| SpecProblem::new(name, source, l)).collect(),
        LogFormat::Text => SpecProblem::shown(name, source, found),
    };
    for problem in &problems {
        logging::report(problem, logging::format());
    }
}

fn cmd_validate(a: ValidateArgs) -> Result<Outcome> {
    let sarif = a.output == ValidateFormat::Sarif;
    let loaded = loaded_or_reported(ops::try_load_spec(&a.file, &a.policy.files)?, sarif)?;
    let envs: Vec<&str> = match &a.env {
        Some(e) if !a.all => {
            if !loaded.spec.environments.contains_key(e) {
                return Err(Error::UnknownEnvironment {
                    name: e.clone(),
                    file: loaded.name.clone(),
                    known: loaded.environment_names().join(", "),
                });
            }
            vec![e.as_str()]
        }
        _ => vec![],
    };
    let mut found = loaded.validate(&envs, &env_var, UnsetVars::Warn);
    for other in &a.against {
        let other = loaded_or_reported(ops::try_load_spec(other, &[])?, sarif)?;
        found.extend(loaded.overlapping_scopes(&other, &env_var));
    }
    if sarif {
        print_stdout(&render::validation_sarif(&loaded.name, &loaded.source, &found))?;
    }
    if found.iter().any(|l| l.finding.is_error()) {
        return Err(Error::invalid_spec(&loaded.name, &loaded.source, &found));
    }
    report_findings(&loaded.name, &loaded.source, &found);
    let checked = if envs.is_empty() { loaded.environment_names() } else { envs };
    let warnings = found.len();
    let services = match loaded.spec.services.len() {
        0 => String::new(),
        n => format!(", {n} services"),
    };
    logging::status(&format!(
        "{}: valid ({} topics{services}; environments: {}{})",
        loaded.name,
        loaded.spec.topics.len(),
        if checked.is_empty() { "none".to_owned() } else { checked.join(", ") },
        if warnings > 0 { format!("; {warnings} warning(s)") } else { String::new() }
    ));
    Ok(Outcome::Success)
}

/// The spec that loaded, or the error of one that did not; with `-o sarif`
/// its reasons go to stdout as results first, so code scanning still
/// annotates the line that broke the spec (an empty upload would hide it).
fn loaded_or_reported(
    loaded: std::result::Result<topicform_core::spec::LoadedSpec, ops::Unloadable>,
    sarif: bool,
) -> Result<topicform_core::spec::LoadedSpec> {
    let unloadable = match loaded {
        Ok(loaded) => return Ok(loaded),
        Err(unloadable) => unloadable,
    };
    if sarif {
        print_stdout(&render::validation_sarif(&unloadable.name, &unloadable.source, &unloadable.found))?;
    }
    Err(unloadable.into())
}

fn plan_options(w: &WidenArgs) -> PlanOptions {
    PlanOptions { allow_delete: w.allow_delete, prune_config: w.prune_config }
}

/// Loads the spec and resolves the environment, printing its warnings, for
/// a command that grants nothing: a variable only the services' principals
/// use may be unset (`env --service` refuses its own service's).
fn load_environment(
    target: &args::Target,
) -> Result<(topicform_core::spec::LoadedSpec, topicform_core::spec::ResolvedEnvironment)> {
    let (loaded, env, warnings) = phase_sync("load", || {
        let loaded = ops::load_spec(&target.file)?;
        let (env, warnings) = ops::resolve_env_without_access(&loaded, target.env.as_deref(), &env_var)?;
        Ok::<_, Error>((loaded, env, warnings))
    })?;
    report_findings(&loaded.name, &loaded.source, &warnings);
    set_environment(&env.name);
    Ok((loaded, env))
}

/// What [`load_contributed_environment`] loads: the spec, its environment,
/// the ConfigMaps that contributed topics, and the warnings it printed.
struct LoadedEnvironment {
    loaded: topicform_core::spec::LoadedSpec,
    env: ResolvedEnvironment,
    contributions: Option<Contributions>,
    warnings: Vec<SpecWarning>,
}

/// [`load_environment`] for plan and apply: where the spec reads topics
/// from Kubernetes (`from:`), the ConfigMaps' topics are merged in.
async fn load_contributed_environment(
    target: &args::Target,
    policy: &args::PolicyArgs,
    timeout: Duration,
) -> Result<LoadedEnvironment> {
    let (loaded, (env, warnings, contributions)) = phase("load", async {
        let loaded = ops::load_spec_with_policies(&target.file, &policy.files)?;
        let resolved = ops::resolve_contributed(&loaded, target.env.as_deref(), &env_var, timeout).await?;
        Ok::<_, Error>((loaded, resolved))
    })
    .await?;
    report_findings(&loaded.name, &loaded.source, &warnings);
    set_environment(&env.name);
    let warnings = warnings.iter().map(|l| SpecWarning::new(&loaded.name, l)).collect();
    Ok(LoadedEnvironment { loaded, env, contributions, warnings })
}

/// Connects the status writer `--status` asks for; where topics are
/// contributed, tells it the ConfigMaps and reads the owners the last run
/// recorded into `env` (what tells an orphan).
async fn connect_status(
    choice: &StatusChoice,
    lease_namespace: Option<&str>,
    env: &mut ResolvedEnvironment,
    contributions: Option<&Contributions>,
    source: &str,
    command: &'static str,
    timeout: Duration,
) -> Option<StatusWriter> {
    let mut status =
        StatusWriter::connect(choice, lease_namespace, contributions.is_some(), &env.name, source, command, timeout)
            .await?;
    if let Some(contributions) = contributions {
        env.former_owners = status.former_owners().await;
        status.set_contributions(contributions);
    }
    Some(status)
}

/// Loads the spec, resolves the environment (printing its warnings) and
/// connects to its cluster, for a command that grants nothing (export).
fn open_environment(
    target: &args::Target,
    timeout: u64,
) -> Result<(topicform_core::spec::LoadedSpec, topicform_core::spec::ResolvedEnvironment, ConnectedBackend)> {
    let (loaded, env) = load_environment(target)?;
    let backend = connect(&env, timeout)?;
    Ok((loaded, env, backend))
}

/// The clients of `env`'s cluster (they connect on first use).
fn connect(env: &ResolvedEnvironment, timeout: u64) -> Result<ConnectedBackend> {
    phase_sync("connect", || ConnectedBackend::connect(env, Duration::from_secs(timeout.max(1))))
}

async fn cmd_plan(a: PlanArgs) -> Result<Outcome> {
    let timeout = Duration::from_secs(a.connect.timeout.max(1));
    let LoadedEnvironment { loaded, mut env, contributions, warnings } =
        load_contributed_environment(&a.target, &a.policy, timeout).await?;
    let status =
        connect_status(&a.status, None, &mut env, contributions.as_ref(), &loaded.source, "plan", timeout).await;
    let planned = show_plan(&a, &env, warnings).await;
    record(status.as_ref(), planned.as_ref().map(RunOutcome::planned)).await;
    let plan = planned?;
    if plan.has_refusals() {
        return Err(Error::Refused { count: plan.summary.refused });
    }
    conflicts_refused(&plan.conflicts)?;
    Ok(if a.detailed_exitcode && plan.has_changes() { Outcome::ChangesPending } else { Outcome::Success })
}

/// `plan`'s work: read the cluster, make the plan, print (and save) it
/// with the spec's `warnings`.
async fn show_plan(a: &PlanArgs, env: &ResolvedEnvironment, warnings: Vec<SpecWarning>) -> Result<Plan> {
    let backend = connect(env, a.connect.timeout)?;
    let spinner = term::spinner("reading the cluster");
    let (mut plan, _) = ops::make_plan(&backend, env, plan_options(&a.widen)).await?;
    drop(spinner);
    plan.warnings = warnings;
    let format = match a.output {
        OutputFormat::Text => PlanFormat::Text,
        OutputFormat::Json => PlanFormat::Json,
        OutputFormat::Markdown => PlanFormat::Markdown,
    };
    print_stdout(&render::render_plan(&plan, format, term::stdout_color()))?;
    if let Some(out) = &a.out {
        write_file(out, &render::plan_json(&plan), "the plan")?;
        logging::status(&format!(
            "Saved the plan to {}; apply it with `topicform apply -e {} --plan {}`.",
            out.display(),
            env.name,
            out.display()
        ));
    }
    Ok(plan)
}

/// Contributed declarations refused (ResourceConflict) fail the command
/// once everything else is done, as `kubectl apply` does for the objects
/// it could not apply.
fn conflicts_refused(conflicts: &[Conflict]) -> Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    ops::log_conflicts(conflicts);
    let described: String = conflicts.iter().map(|c| format!("\n  - {}", c.describe())).collect();
    Err(Error::Conflicts { count: conflicts.len(), conflicts: described })
}

/// Records what the run did where `--status` said, if anywhere; the
/// command's own result stands whatever happens here.
async fn record(status: Option<&StatusWriter>, outcome: std::result::Result<RunOutcome, &Error>) {
    if let Some(status) = status {
        let outcome = outcome.unwrap_or_else(RunOutcome::failed);
        status.record(&outcome).await;
    }
}

fn write_file(path: &Path, content: &str, what: &str) -> Result<()> {
    std::fs::write(path, content)
        .map_err(|source| Error::Write { what: format!("{what} to {}", path.display()), source })
}

async fn cmd_apply(a: ApplyArgs) -> Result<Outcome> {
    let timeout = Duration::from_secs(a.connect.timeout.max(1));
    let LoadedEnvironment { loaded, mut env, contributions, .. } =
        load_contributed_environment(&a.target, &a.policy, timeout).await?;
    let saved = a.plan.as_deref().map(ops::read_plan).transpose()?;
    // Held from before the cluster is read until the report: the plan this
    // run applies is the cluster as no other apply is changing it. A dry
    // run changes nothing and needs none.
    let lock = match a.dry_run {
        true => None,
        false => {
            let choice = topicform::lock::choose(a.lock.as_ref(), &env);
            phase("lock", topicform::lock::acquire(&env, &choice, Duration::from_secs(a.lock_timeout), timeout)).await?
        }
    };
    let lease_namespace = lock.as_ref().and_then(ApplyLock::lease_namespace);
    let status = connect_status(
        &a.status,
        lease_namespace.as_deref(),
        &mut env,
        contributions.as_ref(),
        &loaded.source,
        "apply",
        timeout,
    )
    .await;
    // A signal before the writes start releases the Lease on the way out.
    let early_stop = lock.as_ref().and_then(ApplyLock::releaser).and_then(signals::release_on_signal);
    let (result, outcome) = apply_locked(&a, &env, saved, lock.as_ref(), early_stop.as_ref()).await;
    if let Some(handler) = early_stop {
        handler.abort();
    }
    let conflicts = outcome.as_ref().map(|o| o.conflicts.clone()).unwrap_or_default();
    record(status.as_ref(), outcome.ok_or_else(|| result.as_ref().expect_err("a run without an outcome failed"))).await;
    if let Some(lock) = lock {
        lock.release().await;
    }
    // Everything else applied; the refused declarations fail the run.
    let outcome = result?;
    conflicts_refused(&conflicts)?;
    Ok(outcome)
}

/// `apply`'s work under the lock: plan, show, confirm, apply, report. The
/// outcome for the status object comes back beside the result (`None`:
/// the run failed before it had one, and the error says what happened).
async fn apply_locked(
    a: &ApplyArgs,
    env: &ResolvedEnvironment,
    saved: Option<Plan>,
    lock: Option<&ApplyLock>,
    early_stop: Option<&tokio::task::JoinHandle<()>>,
) -> (Result<Outcome>, Option<RunOutcome>) {
    let backend = match connect(env, a.connect.timeout) {
        Ok(backend) => backend,
        Err(e) => return (Err(e), None),
    };
    let spinner = term::spinner("reading the cluster");
    let planned = match (&a.plan, saved) {
        (Some(path), Some(saved)) => ops::saved_plan(path, saved, &backend, env, plan_options(&a.widen)).await,
        _ => ops::make_plan(&backend, env, plan_options(&a.widen)).await.map(|(plan, _)| plan),
    };
    drop(spinner);
    let plan = match planned {
        Ok(plan) => plan,
        Err(e) => return (Err(e), None),
    };
    let color = term::stderr_color();
    // The plan goes to stderr so stdout stays clean for the apply report.
    if logging::format() == LogFormat::Text {
        eprint!("{}", topicform::secret::scrub(&render::plan_text(&plan, color)));
    }
    if plan.has_refusals() {
        if logging::format() == LogFormat::Json {
            ops::log_refusals(&plan);
        }
        return (Err(Error::Refused { count: plan.summary.refused }), Some(RunOutcome::planned(&plan)));
    }
    if !plan.has_changes() {
        return (Ok(Outcome::Success), Some(RunOutcome::planned(&plan)));
    }
    if a.dry_run {
        logging::status("Dry run: nothing was changed.");
        return (Ok(Outcome::Success), Some(RunOutcome::planned(&plan)));
    }
    if !a.auto_approve {
        if let Err(e) =
            phase_sync("confirm", || term::confirm(&format!("Apply these changes to environment `{}`?", env.name)))
        {
            return (Err(e), Some(RunOutcome::planned(&plan)));
        }
    }
    // Lost while planning or at the prompt: the plan may be stale and
    // another run may be applying; send nothing.
    if lock.is_some_and(ApplyLock::is_lost) {
        let error = Error::Lock {
            reason: "the apply lock was lost before any change was sent (see the log above)".into(),
            fix: "run apply again; nothing was changed".into(),
        };
        return (Err(error), Some(RunOutcome::planned(&plan)));
    }
    // From here a signal stops the writes instead (signals.rs).
    if let Some(handler) = early_stop {
        handler.abort();
    }
    let progress = term::progress();
    let interrupt = signals::stop_on_signals();
    if let Some(lost) = lock.map(ApplyLock::lost) {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            lost.await;
            interrupt.raise(Signal::LockLost);
        });
    }
    let report = match phase("apply", backend.apply(&plan, progress.as_ref(), &interrupt)).await {
        Ok(report) => report,
        Err(e) => return (Err(e), None),
    };
    let outcome = Some(RunOutcome::applied(&plan, &report));
    if let Err(e) = print_stdout(&render::apply_report_text(&report, term::stdout_color())) {
        return (Err(e), outcome);
    }
    if let Some(signal) = interrupt.signal() {
        let error = Error::Interrupted {
            signal: signal.name().into(),
            exit_code: signal.exit_code(),
            applied: report.applied(),
            failed: report.failed(),
            not_sent: report.skipped(),
        };
        return (Err(error), outcome);
    }
    if !report.is_complete() {
        return (Err(Error::ApplyFailed { failed: report.failed(), total: report.outcomes.len() }), outcome);
    }
    (Ok(Outcome::Success), outcome)
}

async fn cmd_controller(a: args::ControllerArgs) -> Result<Outcome> {
    use topicform::lock::LockChoice;
    let loaded = ops::load_spec_with_policies(&a.target.file, &a.policy.files)?;
    let env_name = ops::environment_name(&loaded, a.target.env.as_deref())?.to_owned();
    let env_lock = loaded.spec.environments[&env_name].lock.as_deref().and_then(|l| l.parse::<LockChoice>().ok());
    let election = match a.lock.clone().or(env_lock) {
        Some(LockChoice::None) => None,
        Some(LockChoice::Kubernetes { namespace, name }) => Some((namespace, name)),
        Some(LockChoice::Auto) | None => Some((None, None)),
        Some(LockChoice::Kafka { .. }) => {
            return Err(Error::Lock {
                reason: "the controller elects its leader with a Kubernetes Lease, not a Kafka group".into(),
                fix: "pass --lock kubernetes[:NAMESPACE[/NAME]], or --lock none for a single replica".into(),
            })
        }
    };
    let settings = topicform::controller::Settings {
        spec: a.target.file.clone(),
        policies: a.policy.files.clone(),
        environment: env_name,
        interval: Duration::from_secs(a.interval),
        options: plan_options(&a.widen),
        election,
        status: a.status.clone(),
        timeout: Duration::from_secs(a.connect.timeout.max(1)),
        probes: a.probe_address,
    };
    let stop = signals::stop_controller_on_signals();
    topicform::controller::run(settings, &env_var, stop).await?;
    logging::status("controller stopped");
    Ok(Outcome::Success)
}

async fn cmd_export(a: ExportArgs) -> Result<Outcome> {
    let regex = |flag: &str, re: &Option<String>| {
        re.as_deref()
            .map(|r| regex::Regex::new(r).map_err(|source| Error::Pattern { flag: flag.into(), source }))
            .transpose()
    };
    let filter = ExportFilter { include: regex("--include", &a.include)?, exclude: regex("--exclude", &a.exclude)? };
    if a.format == args::ExportFormat::EventhubsEmulator {
        let (loaded, env) = load_environment(&a.target)?;
        let config =
            topicform_core::emulator::config(&loaded.spec, &env, &|t| filter.keeps(t)).map_err(|problems| {
                Error::Emulator {
                    env: env.name.clone(),
                    problems: problems.iter().map(|p| format!("\n  - {p}")).collect(),
                }
            })?;
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&config).expect("JSON serialises")))?;
        return Ok(Outcome::Success);
    }
    let (loaded, env, backend) = open_environment(&a.target, a.connect.timeout)?;
    let state = backend.observe(&Scope::default()).await?;
    ops::check_cluster_id(&env, &state)?;
    let spec = ops::export(&env.name, &loaded.spec.environments[&env.name], &state, &filter);
    let header = format!(
        "# yaml-language-server: $schema=https://topicform.dev/schema/topicform.schema.json\n# Exported by topicform {} from environment `{}`{}.\n",
        env!("CARGO_PKG_VERSION"),
        env.name,
        state.cluster_id.as_deref().map(|c| format!(" (cluster {c})")).unwrap_or_default()
    );
    print_stdout(&format!("{header}{}", render::to_yaml(&spec)))?;
    Ok(Outcome::Success)
}

fn cmd_env(a: EnvArgs) -> Result<Outcome> {
    use topicform::render::{EnvFormat, Revealed};
    use topicform_core::spec::broker_env::{broker_env, EnvValue};
    let (loaded, env) = load_environment(&a.target)?;
    if let Some(library) = a.client {
        return print_client_settings(library, &env, a.format);
    }
    let vars = match &a.service {
        None => broker_env(&env.cluster),
        Some(name) => service_vars(&loaded.spec, &env, name)?,
    };
    let revealed: Option<Revealed> = if a.reveal_secrets {
        let mut values = Revealed::new();
        for v in &vars {
            if let EnvValue::Secret(r) = &v.value {
                values.insert(v.name, topicform::secret::read(r)?);
            }
        }
        Some(values)
    } else {
        None
    };
    let format = match a.format.unwrap_or(EnvFormatArg::Dotenv) {
        EnvFormatArg::Dotenv => EnvFormat::Dotenv,
        EnvFormatArg::Shell => EnvFormat::Shell,
        EnvFormatArg::Json => EnvFormat::Json,
        EnvFormatArg::K8sSecret => EnvFormat::K8sSecret,
        EnvFormatArg::HelmValues => EnvFormat::HelmValues,
    };
    let rendered = topicform::render::render_env(&vars, format, &a.secret_name, revealed.as_ref());
    if revealed.is_some() {
        print_stdout_unscrubbed(&rendered)?;
    } else {
        print_stdout(&rendered)?;
    }
    Ok(Outcome::Success)
}

/// `env --client LIB`: the library's settings file, or the service chart's
/// values holding it.
fn print_client_settings(
    library: args::ClientLibrary,
    env: &ResolvedEnvironment,
    format: Option<EnvFormatArg>,
) -> Result<Outcome> {
    use topicform_core::spec::client_settings::{client_settings, Library};
    let library = match library {
        args::ClientLibrary::Kafkajs => Library::Kafkajs,
        args::ClientLibrary::Librdkafka => Library::Librdkafka,
        args::ClientLibrary::Java => Library::Java,
        args::ClientLibrary::ConfluentKafkaGo => Library::ConfluentKafkaGo,
    };
    let settings = client_settings(library, &env.cluster);
    let rendered = match format {
        None => render::client_settings_file(&settings, &env.name),
        Some(EnvFormatArg::HelmValues) => render::client_settings_helm_values(&settings, &env.name),
        Some(other) => {
            let format =
                clap::ValueEnum::to_possible_value(&other).map_or_else(String::new, |v| v.get_name().to_owned());
            return Err(Error::ClientFormat { format });
        }
    };
    print_stdout(&rendered)?;
    Ok(Outcome::Success)
}

/// The variables of service `name` in `env` (`env --service`).
fn service_vars(
    spec: &topicform_core::spec::Spec,
    env: &topicform_core::spec::ResolvedEnvironment,
    name: &str,
) -> Result<Vec<topicform_core::spec::broker_env::EnvVar>> {
    let Some(declared) = spec.services.get(name) else {
        let known: Vec<&str> = spec.services.keys().map(String::as_str).collect();
        return Err(Error::Service {
            problem: format!("no service `{name}` in the spec"),
            help: if known.is_empty() {
                "declare it under `services:`".to_owned()
            } else {
                format!("this spec declares: {}", known.join(", "))
            },
        });
    };
    // A service without a principal here has no user of its own (empty).
    let service = env.services.iter().find(|s| s.name == name).cloned().unwrap_or_else(|| {
        topicform_core::access::ResolvedService {
            name: name.to_owned(),
            principal: String::new(),
            group: declared.group(name).to_owned(),
            produces: declared.produces.clone(),
            consumes: declared.consumes.clone(),
            password: None,
            unset_vars: Vec::new(),
        }
    });
    topicform_core::spec::broker_env::service_env(&env.cluster, &service).map_err(|problem| Error::Service {
        problem,
        help: format!("see `services.{name}` in the spec; `topicform env` without --service prints topicform's own"),
    })
}

async fn cmd_lag(a: args::LagArgs) -> Result<Outcome> {
    let (loaded, env) = load_environment(&a.target)?;
    let connection = topicform::check::Connection::from_cluster(&env.name, &env.cluster)?;
    let timeout = Duration::from_secs(a.timeout.max(1));
    let groups = || topicform::lag::current_groups(&loaded, &env, &env_var, &a.groups, timeout);
    if let Some(addr) = a.serve {
        let settings = topicform::lag::serve::Settings { addr, interval: Duration::from_secs(a.interval), timeout };
        topicform::lag::serve::run(&connection, groups, &settings, signals::stop_serving_on_signals()).await?;
        return Ok(Outcome::Success);
    }
    let report = topicform::lag::measure(&connection, groups().await?, timeout).await?;
    match a.output {
        args::LagFormat::Text => print_stdout(&topicform::lag::render_text(&report))?,
        args::LagFormat::Json => print_stdout(&(serde_json::to_string_pretty(&report).expect("JSON") + "\n"))?,
    }
    Ok(Outcome::Success)
}

async fn cmd_check(a: CheckArgs) -> Result<Outcome> {
    use topicform::check::{self, Connection, Status};
    let connection = if a.from_env {
        Connection::from_env(&env_var)?
    } else {
        let (_, env) = load_environment(&a.target)?;
        Connection::from_cluster(&env.name, &env.cluster)?
    };
    let probes =
        check::Probes { roundtrip: a.roundtrip.as_deref(), produce: a.produce.as_deref(), denied: a.denied.as_deref() };
    let report = check::run(&connection, probes, Duration::from_secs(a.timeout.max(1))).await;
    match a.output {
        CheckFormat::Text => print_stdout(&render::check_text(&report, term::stdout_color()))?,
        CheckFormat::Json => print_stdout(&(serde_json::to_string_pretty(&report).expect("JSON") + "\n"))?,
    }
    match report.steps.iter().find(|s| s.status == Status::Failed) {
        None => Ok(Outcome::Success),
        Some(s) => Err(Error::CheckFailed {
            step: s.name.to_owned(),
            cause: s.cause.clone().unwrap_or_default(),
            fix: s.fix.clone().unwrap_or_default(),
        }),
    }
}
