//! `topicform controller`: apply, kept running. One replica leads, holding
//! the target cluster's Lease (the one every apply takes, so no Job or CI
//! apply runs beside it); the others wait to take over. The leader
//! reconciles on start, whenever the spec file or a contributing ConfigMap
//! changes, and every `interval`; a failed run is retried with backoff.
//! Every run records the status object and an Event, as apply does, and
//! refuses what apply refuses: nothing is deleted without the spec's
//! `prune: true` and `--allow-delete`, no partition count ever shrinks.
//!
//! Shutdown (SIGTERM when Kubernetes deletes the pod): no new batch is sent,
//! the one in flight is waited for, the Lease is released so another
//! replica leads at once.

mod probes;
mod triggers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use topicform_core::plan::PlanOptions;
use topicform_core::spec::VarLookup;
use tracing::Instrument;

use crate::apply::{Interrupt, NoProgress, Signal};
use crate::backend::ConnectedBackend;
use crate::k8s::status::{RunOutcome, StatusChoice, StatusWriter};
use crate::k8s::{holder_identity, Kube};
use crate::lock::lease::{self, LeaseLock};
use crate::{ops, telemetry, Error, Result};

pub use probes::Health;

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The spec file (in a pod: the mounted ConfigMap, which Kubernetes
    /// updates in place).
    pub spec: PathBuf,
    /// Shared policy files (`--policy`), checked with the spec's own.
    pub policies: Vec<PathBuf>,
    /// The environment to keep in sync.
    pub environment: String,
    /// A reconcile at least this often, changes or not (drift).
    pub interval: Duration,
    /// `--allow-delete` / `--prune-config`, as for apply.
    pub options: PlanOptions,
    /// Leader election: the Lease's namespace and name (`None`s: the
    /// client's namespace, the name after the cluster). `None`: no
    /// election (one replica, or no Kubernetes).
    pub election: Option<(Option<String>, Option<String>)>,
    /// Where the status goes.
    pub status: StatusChoice,
    /// Timeout of each request to the cluster and the API server.
    pub timeout: Duration,
    /// Where `/healthz` and `/readyz` are served.
    pub probes: Option<SocketAddr>,
}

/// Backoff after a failed run: doubling from the first to the last, and
/// never longer than the interval.
const BACKOFF_FIRST: Duration = Duration::from_secs(5);
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// Changes within this window are one reconcile (a `helm upgrade` updates
/// several ConfigMaps at once).
const DEBOUNCE: Duration = Duration::from_secs(2);

/// Runs until `stop` turns true (the first SIGTERM or SIGINT): a run in
/// flight then sends no new batch, and the Lease is released.
pub async fn run(settings: Settings, vars: VarLookup<'_>, stop: watch::Receiver<bool>) -> Result<()> {
    let health = Arc::new(Health::default());
    let _server = match settings.probes {
        Some(addr) => Some(probes::serve(addr, health.clone(), settings.interval).await?),
        None => None,
    };
    let mut stop = stop;
    let mut backoff = Backoff::default();
    loop {
        let lease = match settings.election.as_ref() {
            None => None,
            Some((namespace, name)) => {
                let taking = take_leadership(&settings, vars, namespace.as_deref(), name.as_deref(), &health);
                let taken = tokio::select! {
                    taken = taking => taken,
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                };
                match taken {
                    Ok(lease) => Some(lease),
                    Err(e) => {
                        let wait = backoff.next(settings.interval);
                        tracing::error!(error = %e, retry_in_s = wait.as_secs(), "cannot take the Lease; trying again");
                        if wait_or_stop(wait, &mut stop).await {
                            return Ok(());
                        }
                        continue;
                    }
                }
            }
        };
        backoff = Backoff::default();
        health.set_leader(true);
        let ended = lead(&settings, vars, lease.as_ref(), &health, &mut stop).await;
        health.set_leader(false);
        if let Some(lease) = lease {
            if !lease.is_lost() {
                lease.release().await;
            }
        }
        match ended {
            Ended::Stopped => return Ok(()),
            Ended::LeaseLost => tracing::warn!("lost the Lease: another replica leads now; waiting to lead again"),
        }
    }
}

/// Why leading ended.
enum Ended {
    Stopped,
    LeaseLost,
}

/// Takes the Lease, waiting as long as another replica leads.
async fn take_leadership(
    settings: &Settings,
    vars: VarLookup<'_>,
    namespace: Option<&str>,
    name: Option<&str>,
    health: &Health,
) -> Result<LeaseLock> {
    let kube = Kube::connect(namespace, settings.timeout).await?;
    let name = match name {
        Some(name) => name.to_owned(),
        None => {
            // Named after the cluster, like apply's: resolving needs the
            // spec and, without a pinned clusterId, the broker.
            let loaded = ops::load_spec_with_policies(&settings.spec, &settings.policies)?;
            let (env, _) = ops::resolve_env_without_access(&loaded, Some(&settings.environment), vars)?;
            crate::lock::lease_name(&env, settings.timeout).await?
        }
    };
    health.set_standby();
    tracing::info!(lease = %format!("{}/{name}", kube.namespace), holder = %holder_identity(), "waiting to lead");
    // Standing by is the normal state of every replica but one.
    let forever = Duration::from_secs(100 * 365 * 24 * 3600);
    let lease = lease::acquire(&kube, &name, &holder_identity(), forever).await?;
    tracing::info!(lease = %format!("{}/{name}", kube.namespace), "leading: reconciling");
    Ok(lease)
}

/// Reconciles as leader until stopped or the Lease is lost.
async fn lead(
    settings: &Settings,
    vars: VarLookup<'_>,
    lease: Option<&LeaseLock>,
    health: &Health,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let mut changes = triggers::Triggers::start(settings);
    let mut backoff = Backoff::default();
    loop {
        // Stopped or lost mid-run: no new batch is sent, the one in flight
        // is waited for (the apply engine's interrupt), then the loop ends.
        let interrupt = Interrupt::default();
        let forwarder = tokio::spawn(forward_stop(stop.clone(), lost_or_never(lease), interrupt.clone()));
        let done = traced_reconcile(settings, vars, lease, &interrupt).await;
        forwarder.abort();
        health.reconciled(&done);
        if *stop.borrow() {
            return Ended::Stopped;
        }
        if lease.is_some_and(LeaseLock::is_lost) {
            return Ended::LeaseLost;
        }
        if let Some(sources) = done.sources.clone() {
            changes.watch(sources).await;
        }
        let wait = if done.failed() { backoff.next(settings.interval) } else { backoff.reset(settings.interval) };
        let lost = lost_or_never(lease);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            why = changes.next() => {
                tracing::info!(trigger = %why, "change seen; reconciling");
                tokio::time::sleep(DEBOUNCE).await;
                changes.drain();
            }
            _ = lost => return Ended::LeaseLost,
            _ = stop.wait_for(|s| *s) => return Ended::Stopped,
        }
    }
}

/// Completes when `lease` is lost; never without a Lease.
fn lost_or_never(lease: Option<&LeaseLock>) -> impl std::future::Future<Output = ()> + Send + 'static {
    let lost = lease.map(LeaseLock::lost);
    async move {
        match lost {
            Some(lost) => lost.await,
            None => std::future::pending().await,
        }
    }
}

/// Raises `interrupt` when the controller is stopped or loses its Lease.
async fn forward_stop(
    mut stop: watch::Receiver<bool>,
    lost: impl std::future::Future<Output = ()>,
    interrupt: Interrupt,
) {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => { interrupt.raise(Signal::Terminate); }
        _ = lost => { interrupt.raise(Signal::LockLost); }
    }
}

/// One reconcile's outcome.
pub(crate) struct Done {
    pub(crate) outcome: RunOutcome,
    /// The error, when the run failed.
    pub(crate) error: Option<String>,
    /// What the spec reads topics from, to watch.
    pub(crate) sources: Option<topicform_core::spec::model::KubernetesSource>,
}

impl Done {
    fn failed(&self) -> bool {
        self.error.is_some() || self.outcome.reason == crate::k8s::status::Reason::KafkaError
    }
}

/// Load, merge, plan, apply what may be applied; record it.
/// [`reconcile`] as a trace of its own (`topicform reconcile`): the process
/// runs until stopped, so one trace per run is what a backend can show.
async fn traced_reconcile(
    settings: &Settings,
    vars: VarLookup<'_>,
    lease: Option<&LeaseLock>,
    interrupt: &Interrupt,
) -> Done {
    let span = tracing::info_span!(
        parent: None,
        "reconcile",
        otel.name = "topicform reconcile",
        topicform.command = "controller",
        topicform.environment = settings.environment.as_str(),
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    let started = std::time::Instant::now();
    if let Some(m) = crate::telemetry::metrics() {
        m.set_environment(&settings.environment);
    }
    let done = reconcile(settings, vars, lease, interrupt).instrument(span.clone()).await;
    crate::telemetry::finish_run(&span, "controller", started, done.error.as_ref());
    done
}

async fn reconcile(settings: &Settings, vars: VarLookup<'_>, lease: Option<&LeaseLock>, interrupt: &Interrupt) -> Done {
    let loaded = match ops::load_spec_with_policies(&settings.spec, &settings.policies) {
        Ok(loaded) => loaded,
        Err(e) => return failed(settings, None, &e).await,
    };
    let sources = loaded.kubernetes_source(&settings.environment, vars);
    let lease_namespace = lease.map(|l| l.namespace().to_owned());
    let mut status = StatusWriter::connect(
        &settings.status,
        lease_namespace.as_deref(),
        sources.is_some(),
        &settings.environment,
        &loaded.source,
        "controller",
        settings.timeout,
    )
    .await;
    let result = plan_and_apply(settings, vars, &loaded, status.as_mut(), lease, interrupt).await;
    let (outcome, error) = match result {
        Ok(outcome) => (outcome, None),
        Err(e) => {
            tracing::error!(error = %crate::secret::scrub(&e.to_string()), "reconcile failed");
            (RunOutcome::failed(&e), Some(e.to_string()))
        }
    };
    if let Some(status) = &status {
        status.record(&outcome).await;
    }
    Done { outcome, error, sources }
}

async fn failed(
    settings: &Settings,
    sources: Option<topicform_core::spec::model::KubernetesSource>,
    e: &Error,
) -> Done {
    tracing::error!(error = %crate::secret::scrub(&e.to_string()), "reconcile failed");
    let outcome = RunOutcome::failed(e);
    // The spec did not load: the status goes where it would have.
    if let Some(status) =
        StatusWriter::connect(&settings.status, None, false, &settings.environment, "", "controller", settings.timeout)
            .await
    {
        status.record(&outcome).await;
    }
    Done { outcome, error: Some(e.to_string()), sources }
}

async fn plan_and_apply(
    settings: &Settings,
    vars: VarLookup<'_>,
    loaded: &topicform_core::spec::LoadedSpec,
    status: Option<&mut StatusWriter>,
    lease: Option<&LeaseLock>,
    interrupt: &Interrupt,
) -> Result<RunOutcome> {
    let (mut env, _, contributions) =
        ops::resolve_contributed(loaded, Some(&settings.environment), vars, settings.timeout).await?;
    if let (Some(status), Some(contributions)) = (status, contributions.as_ref()) {
        env.former_owners = status.former_owners().await;
        status.set_contributions(contributions);
    }
    let backend = telemetry::phase_sync("connect", || ConnectedBackend::connect(&env, settings.timeout))?;
    let (plan, _) = ops::make_plan(&backend, &env, settings.options).await?;
    ops::log_conflicts(&plan.conflicts);
    if plan.has_refusals() {
        ops::log_refusals(&plan);
        return Ok(RunOutcome::planned(&plan));
    }
    if !plan.has_changes() {
        return Ok(RunOutcome::planned(&plan));
    }
    if lease.is_some_and(LeaseLock::is_lost) {
        return Err(Error::Lock {
            reason: "the Lease was lost before any change was sent".into(),
            fix: "nothing was changed; the replica that leads now reconciles".into(),
        });
    }
    let report = telemetry::phase("apply", backend.apply(&plan, &NoProgress, interrupt)).await?;
    for o in &report.outcomes {
        tracing::info!(topic = %o.topic, change = %o.change, status = ?o.status, "applied");
    }
    Ok(RunOutcome::applied(&plan, &report))
}

/// Retry delays after failures: doubling, capped.
#[derive(Default)]
struct Backoff {
    current: Option<Duration>,
}

impl Backoff {
    fn next(&mut self, interval: Duration) -> Duration {
        let next = self.current.map_or(BACKOFF_FIRST, |d| (d * 2).min(BACKOFF_MAX)).min(interval.max(BACKOFF_FIRST));
        self.current = Some(next);
        next
    }

    fn reset(&mut self, interval: Duration) -> Duration {
        self.current = None;
        interval
    }
}

/// Sleeps `wait`; true when stopped meanwhile.
async fn wait_or_stop(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    let stopped = tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = stop.wait_for(|s| *s) => true,
    };
    stopped || *stop.borrow()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_never_past_the_interval() {
        let mut b = Backoff::default();
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (0..9).map(|_| b.next(hour).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(b.reset(hour), hour);
        assert_eq!(b.next(hour).as_secs(), 5, "from the start after a success");
        let mut short = Backoff::default();
        assert_eq!((0..4).map(|_| short.next(Duration::from_secs(30)).as_secs()).collect::<Vec<_>>(), [5, 10, 20, 30]);
    }
}
