//! The lock in Kubernetes: a `coordination.k8s.io/v1` Lease per target
//! cluster, the object Kubernetes' own components elect leaders with.
//!
//! The algorithm is client-go's leader election, for one apply at a time:
//! take the Lease when nobody holds it, when it was released, or when its
//! record has not changed for its `leaseDurationSeconds` as *this* process
//! measured it (no comparison of clocks across machines); every write
//! carries the `resourceVersion` read, so two runs racing for a free Lease
//! cannot both win. The holder renews every [`RENEW_EVERY`]; if it cannot
//! for a whole [`LEASE_DURATION`] it counts the lock as lost and stops
//! sending changes. At the end it releases the Lease (empty holder), so the
//! next run starts at once.
//!
//! Written on kube's typed `Api<Lease>` rather than with a lease crate:
//! kube-lease-manager (the maintained one) hides the holder and the times
//! this module needs for "who holds it and since when", and releasing on
//! every path; the algorithm is a hundred lines.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

use crate::k8s::{api_error, is_status, Kube};
use crate::{Error, Result};

/// How long a holder that stopped renewing keeps the Lease (client-go's
/// leader election default).
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How long the holder keeps trying to renew before it counts the Lease as
/// lost (client-go's renew deadline): well inside [`LEASE_DURATION`], so it
/// stops sending before any waiter can take over, and measured from when
/// the last successful renewal was *sent*.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often a waiter looks again.
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// What the RBAC error names.
const RBAC: &str = "get, create and update on leases.coordination.k8s.io";

/// A held Lease. Renewed in the background until [`LeaseLock::release`]
/// (or drop, which stops renewing and lets it expire).
pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    holder: String,
    stop: watch::Sender<bool>,
    renewer: Option<tokio::task::JoinHandle<()>>,
    lost: watch::Receiver<bool>,
}

impl LeaseLock {
    pub fn namespace(&self) -> &str {
        self.api.namespace().unwrap_or("default")
    }

    /// Whether the Lease was lost (see [`LeaseLock::lost`]).
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Completes if the Lease is lost while held: no renewal succeeded for
    /// [`RENEW_DEADLINE`], or another holder took it.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut lost = self.lost.clone();
        async move {
            // A sender dropped without raising it (released) never completes.
            if lost.wait_for(|l| *l).await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Stops renewing and empties the holder, so the next run need not wait
    /// out the lease duration. Best effort: a failure only means the next
    /// run waits that long.
    pub async fn release(mut self) {
        let _ = self.stop.send(true);
        // A renewal in flight must not delay the release past its bound.
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
        vacate(self.api.clone(), self.name.clone(), self.holder.clone()).await;
    }

    /// The release as a future of its own, for a signal handler that exits
    /// the process before this lock's owner could release it.
    pub fn releaser(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        vacate(self.api.clone(), self.name.clone(), self.holder.clone())
    }
}

/// Empties the holder of Lease `name` if `holder` still holds it, within 5 s.
async fn vacate(api: Api<Lease>, name: String, holder: String) {
    let place = format!("Lease {}/{name}", api.namespace().unwrap_or("default"));
    let released = async {
        let mut lease = api.get(&name).await?;
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(&holder) {
            return Ok(false);
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        api.replace(&name, &PostParams::default(), &lease).await.map(|_| true)
    };
    match tokio::time::timeout(Duration::from_secs(5), released).await {
        Ok(Ok(true)) => tracing::info!(lease = %place, "released the apply lock"),
        Ok(Ok(false)) => tracing::warn!(lease = %place, "the Lease had another holder when released"),
        Ok(Err(e)) => {
            tracing::warn!(lease = %place, error = %e, "could not release the Lease; it expires after {} s", LEASE_DURATION.as_secs())
        }
        Err(_) => {
            tracing::warn!(lease = %place, "could not release the Lease in 5 s; it expires after {} s", LEASE_DURATION.as_secs())
        }
    }
}

impl Drop for LeaseLock {
    fn drop(&mut self) {
        // Not released (an error path): stop renewing, let it expire.
        let _ = self.stop.send(true);
        if let Some(renewer) = self.renewer.take() {
            renewer.abort();
        }
    }
}

/// Takes Lease `name` in `kube`'s namespace for `holder`, waiting up to
/// `wait` for another holder to release it or to stop renewing it.
pub async fn acquire(kube: &Kube, name: &str, holder: &str, wait: Duration) -> Result<LeaseLock> {
    let api: Api<Lease> = Api::namespaced(kube.client.clone(), &kube.namespace);
    let place = format!("Lease {}/{name}", kube.namespace);
    let started = Instant::now();
    // The record as last seen and when this process first saw it.
    let mut observed: Option<(String, Instant)> = None;
    // The first word about a holder after 4 s, then every 10 s.
    let mut next_report = started + Duration::from_secs(4);
    loop {
        let found =
            api.get_opt(name).await.map_err(|e| api_error(format!("read {place}"), &kube.namespace, RBAC, e))?;
        let attempt = match found {
            None => api.create(&PostParams::default(), &new_lease(name, holder)).await,
            Some(lease) => {
                let version = lease.metadata.resource_version.clone().unwrap_or_default();
                let seen_at = match &observed {
                    Some((v, at)) if *v == version => *at,
                    _ => Instant::now(),
                };
                observed = Some((version, seen_at));
                let spec = lease.spec.clone().unwrap_or_default();
                if is_free(&spec, holder, seen_at.elapsed()) {
                    api.replace(name, &PostParams::default(), &taken(lease, holder)).await
                } else {
                    if started.elapsed() >= wait {
                        return Err(Error::LockHeld {
                            lock: place,
                            holder: describe_holder(&spec),
                            waited: started.elapsed().as_secs(),
                            freed_after: duration_of(&spec).as_secs(),
                        });
                    }
                    if Instant::now() >= next_report {
                        next_report = Instant::now() + Duration::from_secs(10);
                        tracing::warn!(lease = %place, holder = %describe_holder(&spec), "waiting for another apply to finish");
                    }
                    tokio::time::sleep(RETRY_EVERY).await;
                    continue;
                }
            }
        };
        match attempt {
            Ok(_) => {
                tracing::info!(lease = %place, waited_ms = started.elapsed().as_millis() as u64, "holding the apply lock");
                return Ok(keep(api, name.to_owned(), holder.to_owned()));
            }
            // Another run created or took it between the read and the
            // write: read again.
            Err(e) if is_status(&e, 409) => continue,
            Err(e) => return Err(api_error(format!("take {place}"), &kube.namespace, RBAC, e)),
        }
    }
}

/// Free for `holder`: nobody holds it, `holder` already does (a retried
/// run of the same process), or its record has not changed for a whole
/// lease duration as this process measured it.
fn is_free(spec: &LeaseSpec, holder: &str, unchanged_for: Duration) -> bool {
    match spec.holder_identity.as_deref() {
        None | Some("") => true,
        Some(current) if current == holder => true,
        Some(_) => unchanged_for >= duration_of(spec),
    }
}

fn duration_of(spec: &LeaseSpec) -> Duration {
    Duration::from_secs(spec.lease_duration_seconds.map_or(LEASE_DURATION.as_secs(), |s| s.max(1) as u64))
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

fn new_lease(name: &str, holder: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some([("app.kubernetes.io/managed-by".to_owned(), "topicform".to_owned())].into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: Some(now()),
            renew_time: Some(now()),
            lease_transitions: Some(0),
            ..Default::default()
        }),
    }
}

/// `lease` with `holder` as its holder from now; its `resourceVersion`
/// makes the write fail if anyone wrote in between.
fn taken(mut lease: Lease, holder: &str) -> Lease {
    let spec = lease.spec.get_or_insert_with(Default::default);
    let changed_hands = spec.holder_identity.as_deref().is_some_and(|h| !h.is_empty() && h != holder);
    if spec.holder_identity.as_deref() != Some(holder) {
        spec.acquire_time = Some(now());
    }
    spec.holder_identity = Some(holder.to_owned());
    spec.lease_duration_seconds = Some(LEASE_DURATION.as_secs() as i32);
    spec.renew_time = Some(now());
    if changed_hands {
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    lease
}

/// `topicform@ci-7/4242 since 2026-12-02T10:00:00Z (renewed 2026-…)`.
fn describe_holder(spec: &LeaseSpec) -> String {
    let holder = spec.holder_identity.clone().unwrap_or_else(|| "nobody".into());
    let at = |t: &Option<MicroTime>| t.as_ref().map(|t| crate::k8s::rfc3339(t.0));
    match (at(&spec.acquire_time), at(&spec.renew_time)) {
        (Some(since), Some(renewed)) => format!("{holder} since {since} (last renewed {renewed})"),
        (Some(since), None) => format!("{holder} since {since}"),
        _ => holder,
    }
}

/// Renews the Lease every [`RENEW_EVERY`] until told to stop; marks it lost
/// when another holder has it, or when no renewal sent in the last
/// [`RENEW_DEADLINE`] succeeded. Every call is cut at that deadline, so a
/// hung API server cannot stretch it.
fn keep(api: Api<Lease>, name: String, holder: String) -> LeaseLock {
    let (stop, mut stopped) = watch::channel(false);
    let (lost_tx, lost) = watch::channel(false);
    let renewer = {
        let (api, name, holder) = (api.clone(), name.clone(), holder.clone());
        tokio::spawn(async move {
            let mut last_renewed = Instant::now();
            let mut wait = RENEW_EVERY;
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                let sent = Instant::now();
                let left = RENEW_DEADLINE.saturating_sub(last_renewed.elapsed());
                let outcome = tokio::time::timeout(left, renew(&api, &name, &holder)).await;
                let failure = match outcome {
                    Ok(Ok(true)) => {
                        last_renewed = sent;
                        wait = RENEW_EVERY;
                        continue;
                    }
                    Ok(Ok(false)) => {
                        tracing::error!(lease = %name, "another run took the Lease; no further change is sent");
                        let _ = lost_tx.send(true);
                        return;
                    }
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => format!("no answer in {} s", left.as_secs()),
                };
                if last_renewed.elapsed() >= RENEW_DEADLINE {
                    tracing::error!(lease = %name, error = %failure, "no renewal of the Lease succeeded for {} s: the lock is lost; no further change is sent", RENEW_DEADLINE.as_secs());
                    let _ = lost_tx.send(true);
                    return;
                }
                tracing::warn!(lease = %name, error = %failure, "could not renew the Lease; trying again");
                wait = RETRY_EVERY;
            }
        })
    };
    LeaseLock { api, name, holder, stop, renewer: Some(renewer), lost }
}

/// One renewal; `Ok(false)`: someone else holds it now.
async fn renew(api: &Api<Lease>, name: &str, holder: &str) -> std::result::Result<bool, kube::Error> {
    let mut lease = api.get(name).await?;
    let spec = lease.spec.get_or_insert_with(Default::default);
    if spec.holder_identity.as_deref() != Some(holder) {
        return Ok(false);
    }
    spec.renew_time = Some(now());
    api.replace(name, &PostParams::default(), &lease).await.map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(holder: &str, seconds: i32) -> LeaseSpec {
        LeaseSpec { holder_identity: Some(holder.into()), lease_duration_seconds: Some(seconds), ..Default::default() }
    }

    #[test]
    fn a_lease_is_free_when_empty_released_ours_or_unchanged_for_its_duration() {
        let me = "topicform@a/1";
        assert!(is_free(&LeaseSpec::default(), me, Duration::ZERO));
        assert!(is_free(&held_by("", 1), me, Duration::ZERO), "released");
        assert!(is_free(&held_by(me, 15), me, Duration::ZERO), "ours");
        assert!(!is_free(&held_by("topicform@b/2", 15), me, Duration::from_secs(14)));
        assert!(is_free(&held_by("topicform@b/2", 15), me, Duration::from_secs(15)), "expired");
    }

    #[test]
    fn taking_a_lease_from_another_holder_counts_a_transition() {
        let lease = Lease {
            metadata: Default::default(),
            spec: Some(LeaseSpec { lease_transitions: Some(2), ..held_by("b", 15) }),
        };
        let spec = taken(lease, "a").spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("a"));
        assert_eq!(spec.lease_transitions, Some(3));
        assert!(spec.acquire_time.is_some() && spec.renew_time.is_some());
        let released = Lease { metadata: Default::default(), spec: Some(held_by("", 1)) };
        assert_eq!(
            taken(released, "a").spec.unwrap().lease_transitions,
            None,
            "taking a released lease is no transition"
        );
    }

    #[test]
    fn the_holder_is_described_with_its_times() {
        let t: Timestamp = "2026-12-02T10:00:00Z".parse().unwrap();
        let spec = LeaseSpec {
            acquire_time: Some(MicroTime(t)),
            renew_time: Some(MicroTime(t)),
            ..held_by("topicform@ci/7", 15)
        };
        assert_eq!(
            describe_holder(&spec),
            "topicform@ci/7 since 2026-12-02T10:00:00Z (last renewed 2026-12-02T10:00:00Z)"
        );
    }
}
