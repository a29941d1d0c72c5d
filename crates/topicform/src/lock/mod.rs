//! One apply at a time per cluster (`apply --lock`, an environment's
//! `lock:`): held from before the cluster is read until the report, so the
//! plan an apply carries out is the cluster as no other apply is changing it.
//!
//! Two locks, one choice ([`LockChoice`]):
//! - [`lease`]: a Kubernetes Lease named after the target cluster, for the
//!   hook Job, the CronJob, CI with a kubeconfig and the controller alike.
//!   `auto` picks it inside a pod.
//! - [`kafka`]: Kafka's group coordinator, needing nothing but the cluster;
//!   `auto` picks it outside Kubernetes on Kafka (Event Hubs: no lock).

pub mod kafka;
pub mod lease;

use std::time::Duration;

use topicform_core::spec::model::Cluster;
use topicform_core::spec::ResolvedEnvironment;

pub use kafka::{EVENT_HUBS_LOCK_HUB, LOCK_TOPIC, SESSION_TIMEOUT};
pub use topicform_core::spec::lock::LockChoice;

use crate::k8s::{self, Kube};
use crate::{Error, Result};

/// A held lock; [`ApplyLock::release`] frees it for the next run at once.
pub enum ApplyLock {
    Group(kafka::GroupLock),
    Lease(Box<lease::LeaseLock>),
}

impl ApplyLock {
    /// Completes if the lock is lost while held (a Lease whose renewals
    /// failed for a lease duration, or that another run took); never for
    /// the group lock, which has no way to tell.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let lease = match self {
            ApplyLock::Group(_) => None,
            ApplyLock::Lease(lease) => Some(lease.lost()),
        };
        async move {
            match lease {
                Some(lost) => lost.await,
                None => std::future::pending().await,
            }
        }
    }

    /// Whether the lock is known to be lost (a Lease; the group lock cannot
    /// tell).
    pub fn is_lost(&self) -> bool {
        match self {
            ApplyLock::Group(_) => false,
            ApplyLock::Lease(lease) => lease.is_lost(),
        }
    }

    /// A future that releases the lock without owning it (a Lease; the
    /// group lock frees itself when the process ends), for a signal handler
    /// that exits before the owner could.
    pub fn releaser(&self) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        match self {
            ApplyLock::Group(_) => None,
            ApplyLock::Lease(lease) => Some(lease.releaser()),
        }
    }

    /// The namespace of a Lease lock, where `--status auto` records too.
    pub fn lease_namespace(&self) -> Option<String> {
        match self {
            ApplyLock::Group(_) => None,
            ApplyLock::Lease(lease) => Some(lease.namespace().to_owned()),
        }
    }

    /// Frees the lock.
    pub async fn release(self) {
        match self {
            // Leaving the group blocks for up to 5 s.
            ApplyLock::Group(group) => {
                let _ = tokio::task::spawn_blocking(move || drop(group)).await;
            }
            ApplyLock::Lease(lease) => (*lease).release().await,
        }
    }
}

/// The lock in effect: `--lock` when given, else the environment's
/// `lock:`, else `auto`.
pub fn choose(flag: Option<&LockChoice>, env: &ResolvedEnvironment) -> LockChoice {
    flag.or(env.lock.as_ref()).cloned().unwrap_or(LockChoice::Auto)
}

/// Takes the lock `choice` names for `env`'s cluster, waiting up to `wait`
/// for another apply to finish. `None`: no lock.
pub async fn acquire(
    env: &ResolvedEnvironment,
    choice: &LockChoice,
    wait: Duration,
    timeout: Duration,
) -> Result<Option<ApplyLock>> {
    let without_kubernetes = || match &env.cluster {
        Cluster::Kafka(_) => LockChoice::Kafka { group: None },
        // The lock hub is an opt-in the spec makes (EVENT_HUBS_LOCK_HUB),
        // not something apply can create.
        Cluster::Eventhubs(_) => LockChoice::None,
    };
    match choice {
        LockChoice::Auto if k8s::in_pod() => {
            let in_pod = LockChoice::Kubernetes { namespace: None, name: None };
            match take(env, &in_pod, wait, timeout).await {
                // A pod whose service account may not use Leases still gets
                // the lock that needs no Kubernetes. Any other failure fails
                // the run: another pod may hold the Lease, and taking a
                // different lock would let both apply.
                Err(Error::Kubernetes { what, cause, forbidden: true, .. }) => {
                    let fallback = without_kubernetes();
                    tracing::warn!(%cause, "cannot {what}; using --lock {fallback} instead (grant the service account the chart's Role to use the Lease)");
                    take(env, &fallback, wait, timeout).await
                }
                taken => taken,
            }
        }
        LockChoice::Auto => take(env, &without_kubernetes(), wait, timeout).await,
        choice => take(env, choice, wait, timeout).await,
    }
}

async fn take(
    env: &ResolvedEnvironment,
    choice: &LockChoice,
    wait: Duration,
    timeout: Duration,
) -> Result<Option<ApplyLock>> {
    match choice {
        LockChoice::None | LockChoice::Auto => Ok(None),
        LockChoice::Kafka { group } => {
            kafka::acquire(env, group.clone(), wait, timeout).await.map(ApplyLock::Group).map(Some)
        }
        LockChoice::Kubernetes { namespace, name } => {
            let kube = Kube::connect(namespace.as_deref(), timeout).await?;
            let name = match name {
                Some(name) => name.clone(),
                None => lease_name(env, timeout).await?,
            };
            let lease = lease::acquire(&kube, &name, &k8s::holder_identity(), wait).await?;
            Ok(Some(ApplyLock::Lease(Box::new(lease))))
        }
    }
}

/// The Lease of `env`'s cluster: named after its Kafka cluster id (the
/// pinned one, else the broker's) or its Event Hubs namespace, never after
/// the spec file, so every spec and every run aimed at one cluster meet.
pub async fn lease_name(env: &ResolvedEnvironment, timeout: Duration) -> Result<String> {
    let id = match (&env.cluster, &env.cluster_id) {
        (Cluster::Eventhubs(eh), _) => format!("eventhubs-{}", eh.namespace),
        (Cluster::Kafka(_), Some(pinned)) => pinned.clone(),
        (Cluster::Kafka(_), None) => kafka::identify(env, timeout).await?.ok_or_else(|| Error::Lock {
            reason: "the cluster did not tell its id, and the Lease is named after it".into(),
            fix: "name the Lease: --lock kubernetes:NAMESPACE/NAME (or `lock:` in the environment), the same for every run on this cluster".into(),
        })?,
    };
    Ok(k8s::object_name("topicform", &id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(lock: Option<&str>) -> ResolvedEnvironment {
        ResolvedEnvironment {
            name: "prod".into(),
            cluster: Cluster::Kafka(topicform_core::spec::model::KafkaCluster {
                bootstrap_servers: vec!["b:9092".into()],
                tls: None,
                sasl: None,
                client_config: Default::default(),
            }),
            prune: false,
            prune_acls: false,
            owns: Default::default(),
            cluster_id: None,
            lock: lock.map(|l| l.parse().unwrap()),
            topics: vec![],
            conflicts: vec![],
            former_owners: Default::default(),
            services: Vec::new(),
        }
    }

    #[test]
    fn the_flag_wins_over_the_environment_which_wins_over_auto() {
        let flag: LockChoice = "none".parse().unwrap();
        let in_spec = env(Some("kubernetes:platform"));
        assert_eq!(choose(Some(&flag), &in_spec), LockChoice::None);
        assert_eq!(choose(None, &in_spec), LockChoice::Kubernetes { namespace: Some("platform".into()), name: None });
        assert_eq!(choose(None, &env(None)), LockChoice::Auto);
    }
}
