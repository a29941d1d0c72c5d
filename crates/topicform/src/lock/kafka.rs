//! The lock outside Kubernetes: Kafka's group coordinator.
//!
//! Every apply joins the consumer group `topicform-lock.<cluster id>`,
//! subscribed to the one-partition topic [`LOCK_TOPIC`]. The coordinator
//! gives that partition to one member at a time; whoever has it holds the
//! lock. With the cooperative-sticky assignor a member that joins later
//! never takes the partition from the holder: it waits until the holder
//! leaves the group (apply ended) or is dropped from it (its process died:
//! after [`SESSION_TIMEOUT`]). A waiter names the holder by describing the
//! group (its client id carries host, process and start time).
//!
//! Like any lease without fencing, a holder cut off from the coordinator
//! for longer than the session timeout loses the lock while it may still be
//! writing; that is the price of needing nothing but the cluster itself.
//!
//! On Event Hubs' Kafka endpoint the group coordinator works the same way,
//! but the lock lives on a hub the spec declares ([`EVENT_HUBS_LOCK_HUB`]):
//! `--lock kafka` opts in there, `auto` is no lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::ClientConfig;
use topicform_core::spec::model::Cluster;
use topicform_core::spec::ResolvedEnvironment;

use crate::apply::NewTopic;
use crate::kafka::admin::{self, Mode, Request};
use crate::kafka::{Client, Connection};
use crate::{Error, Result};

/// The topic whose single partition is the lock on Kafka, created on first
/// use. `__` marks it as Kafka's own kind of topic: plans never list,
/// change or delete it.
pub const LOCK_TOPIC: &str = "__topicform_lock";

/// The lock on Event Hubs' Kafka endpoint: a hub (hub names cannot start
/// with `__`), which the spec declares with one partition, since topicform
/// creates hubs through ARM only.
pub const EVENT_HUBS_LOCK_HUB: &str = "topicform-lock";

/// Where the lock lives on one kind of cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LockTopic {
    name: &'static str,
    /// Kafka: created on first use. Event Hubs: must be in the spec.
    create: bool,
}

impl LockTopic {
    fn of(cluster: &Cluster) -> LockTopic {
        match cluster {
            Cluster::Kafka(_) => LockTopic { name: LOCK_TOPIC, create: true },
            Cluster::Eventhubs(_) => LockTopic { name: EVENT_HUBS_LOCK_HUB, create: false },
        }
    }
}

/// How long a dead holder keeps the lock: the group session timeout.
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The lock, held until dropped: then the group is left at once, so the
/// next apply starts without waiting for a timeout.
pub struct GroupLock {
    stop: Arc<AtomicBool>,
    /// Answers once the keeper has left the group.
    left: Option<std::sync::mpsc::Receiver<()>>,
    group: String,
}

impl Drop for GroupLock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Leaving the group is a courtesy to the next apply; a coordinator
        // that does not answer must not keep this one from exiting (the
        // session timeout frees the lock then).
        if let Some(left) = self.left.take() {
            match left.recv_timeout(Duration::from_secs(5)) {
                Ok(()) => tracing::info!(group = %self.group, "released the apply lock"),
                Err(_) => {
                    tracing::warn!(group = %self.group, "could not leave the lock group in 5 s; it frees itself after 10 s")
                }
            }
        }
    }
}

/// Joins the lock group of `env`'s cluster (`group` overrides its name)
/// and waits up to `wait` for the partition that is the lock.
pub(super) async fn acquire(
    env: &ResolvedEnvironment,
    group: Option<String>,
    wait: Duration,
    timeout: Duration,
) -> Result<GroupLock> {
    let topic = LockTopic::of(&env.cluster);
    let connection = Connection::from_cluster(&env.name, &env.cluster)?;
    crate::check::refuse_unreachable(&connection, timeout).await?;
    tokio::task::spawn_blocking(move || acquire_blocking(&connection, topic, group, wait, timeout))
        .await
        .expect("lock task panicked")
}

/// The Kafka cluster's id, for naming the Kubernetes Lease after the
/// cluster; `None` when the cluster does not tell it (then the Lease must be
/// named: falling back to the broker list could split one cluster's runs
/// over two Leases).
pub(super) async fn identify(env: &ResolvedEnvironment, timeout: Duration) -> Result<Option<String>> {
    let connection = Connection::from_cluster(&env.name, &env.cluster)?;
    crate::check::refuse_unreachable(&connection, timeout).await?;
    tokio::task::spawn_blocking(move || {
        let base = connection.client_config()?;
        let admin: Client<rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>> =
            Client::create(&connection, &base, rdkafka::client::DefaultClientContext, timeout)?;
        Ok(admin.inner().fetch_cluster_id(timeout))
    })
    .await
    .expect("cluster id task panicked")
}

fn acquire_blocking(
    connection: &Connection,
    topic: LockTopic,
    group: Option<String>,
    wait: Duration,
    timeout: Duration,
) -> Result<GroupLock> {
    let base = connection.client_config()?;
    let admin: Client<rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>> =
        Client::create(connection, &base, rdkafka::client::DefaultClientContext, timeout)?;
    let group = group.unwrap_or_else(|| format!("topicform-lock.{}", cluster_identity(&admin, connection, timeout)));
    ensure_lock_topic(&admin, topic, timeout)?;
    let consumer = lock_consumer(connection, &base, topic.name, &group, timeout)?;
    let started = Instant::now();
    // A new group waits for members up to group.initial.rebalance.delay.ms
    // (3 s by default) even when nobody holds the lock: the first word about
    // a holder comes after 4 s, then every 10 s.
    let mut next_report = Instant::now() + Duration::from_secs(4);
    loop {
        let _ = consumer.poll(Duration::from_millis(100));
        if holds_the_partition(&consumer, topic.name) {
            tracing::info!(group = %group, waited_ms = started.elapsed().as_millis() as u64, "holding the apply lock");
            return Ok(keep(consumer, group));
        }
        if started.elapsed() >= wait {
            let holder = holder(&admin, &group, timeout);
            return Err(Error::LockHeld {
                lock: format!("group `{group}`"),
                holder,
                waited: started.elapsed().as_secs(),
                freed_after: SESSION_TIMEOUT.as_secs(),
            });
        }
        if Instant::now() >= next_report {
            next_report = Instant::now() + Duration::from_secs(10);
            tracing::warn!(group = %group, holder = %holder(&admin, &group, timeout), "waiting for another apply to finish");
        }
    }
}

/// The cluster's id; without one, the sorted bootstrap list: two specs
/// listing the same brokers in another order share the lock.
pub(super) fn cluster_identity(
    admin: &rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
    connection: &Connection,
    timeout: Duration,
) -> String {
    admin.inner().fetch_cluster_id(timeout).unwrap_or_else(|| {
        let mut brokers = connection.brokers.clone();
        brokers.sort();
        brokers.join(",")
    })
}

/// Creates the lock topic unless it exists (one partition; the broker's
/// default replication); a lock hub that is not there is an error naming
/// the spec line that makes it.
fn ensure_lock_topic(
    admin: &rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
    topic: LockTopic,
    timeout: Duration,
) -> Result<()> {
    // Read first: the principal may lack Create where the topic exists.
    let partitions = admin.inner().fetch_metadata(Some(topic.name), timeout).ok().and_then(|md| {
        md.topics().iter().find(|t| t.name() == topic.name && t.error().is_none()).map(|t| t.partitions().len())
    });
    match partitions {
        Some(1) => return Ok(()),
        // With N partitions, N applies would each hold one.
        Some(n) => {
            return Err(Error::Lock {
                reason: format!(
                    "the lock topic `{}` has {n} partitions; one apply at a time needs exactly 1",
                    topic.name
                ),
                fix: format!("recreate `{}` with `partitions: 1`, or pass --lock none", topic.name),
            })
        }
        None => {}
    }
    if !topic.create {
        return Err(Error::Lock {
            reason: format!("the lock hub `{}` does not exist", topic.name),
            fix: format!(
                "add `{}: {{ partitions: 1 }}` to the spec's topics and apply once with --lock none, or pass --lock none",
                topic.name
            ),
        });
    }
    let topic =
        NewTopic { name: LOCK_TOPIC.into(), partitions: 1, replication_factor: None, config: Default::default() };
    let outcomes = admin::run(admin, &Request::CreateTopics(vec![topic]), Mode::Apply, timeout).map_err(|e| {
        Error::Lock { reason: format!("cannot create the lock topic `{LOCK_TOPIC}`: {}", e.message), fix: fix_rights() }
    })?;
    for (_, outcome) in outcomes {
        match outcome {
            Ok(()) => tracing::info!(topic = LOCK_TOPIC, "created the apply lock topic"),
            Err(e) if e.code == rdkafka_sys::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS => {}
            Err(e) => {
                return Err(Error::Lock {
                    reason: format!("cannot create the lock topic `{LOCK_TOPIC}`: {}", e.message),
                    fix: fix_rights(),
                })
            }
        }
    }
    Ok(())
}

fn fix_rights() -> String {
    format!(
        "grant the principal Create on topic `{LOCK_TOPIC}` and Read on group `topicform-lock.*`, or pass --lock none"
    )
}

/// A member of the lock group that never commits. Its client id names it
/// to waiters: host, process and when it asked.
fn lock_consumer(
    connection: &Connection,
    base: &ClientConfig,
    topic: &str,
    group: &str,
    timeout: Duration,
) -> Result<Client<BaseConsumer<DefaultConsumerContext>>> {
    // Dots separate the client id's fields.
    let host = crate::k8s::host().replace('.', "-");
    let since = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut cfg = base.clone();
    cfg.set("group.id", group)
        .set("client.id", format!("topicform.host-{host}.pid-{}.since-{since}", std::process::id()))
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("session.timeout.ms", SESSION_TIMEOUT.as_millis().to_string())
        .set("heartbeat.interval.ms", "1000")
        // The keeper polls every 100 ms; a stuck process loses the lock
        // through the session timeout, not this.
        .set("max.poll.interval.ms", "86400000")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    let consumer: Client<BaseConsumer<DefaultConsumerContext>> =
        Client::create(connection, &cfg, DefaultConsumerContext, timeout)?;
    consumer
        .subscribe(&[topic])
        .map_err(|e| Error::Lock { reason: format!("cannot join group `{group}`: {e}"), fix: fix_rights() })?;
    Ok(consumer)
}

fn holds_the_partition(consumer: &BaseConsumer<DefaultConsumerContext>, topic: &str) -> bool {
    consumer.assignment().is_ok_and(|a| a.elements().iter().any(|e| e.topic() == topic))
}

/// The member of `group` that has the lock partition, as its client id and
/// host say; "unknown" when the group cannot be described.
fn holder(
    admin: &rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
    group: &str,
    timeout: Duration,
) -> String {
    let Ok(groups) = admin.inner().fetch_group_list(Some(group), timeout) else { return "unknown".into() };
    let holders: Vec<String> = groups
        .groups()
        .iter()
        .flat_map(|g| g.members())
        .filter(|m| m.assignment().is_some_and(|a| !a.is_empty() && assigned_partitions(a) > 0))
        .map(|m| describe_member(m.client_id(), m.client_host()))
        .collect();
    holders.first().cloned().unwrap_or_else(|| "a member that is joining or leaving".into())
}

/// Partitions in a consumer protocol assignment (version, then an array of
/// topic → partitions).
fn assigned_partitions(assignment: &[u8]) -> usize {
    let read_i32 = |at: usize| assignment.get(at..at + 4).map(|b| i32::from_be_bytes(b.try_into().unwrap()));
    let read_i16 = |at: usize| assignment.get(at..at + 2).map(|b| i16::from_be_bytes(b.try_into().unwrap()));
    let mut at = 2; // version
    let Some(topics) = read_i32(at) else { return 0 };
    at += 4;
    let mut total = 0;
    for _ in 0..topics.max(0) {
        let Some(len) = read_i16(at) else { return total };
        at += 2 + len.max(0) as usize;
        let Some(partitions) = read_i32(at) else { return total };
        at += 4 + 4 * partitions.max(0) as usize;
        total += partitions.max(0) as usize;
    }
    total
}

/// `topicform.host-H.pid-P.since-S` → `topicform on H (pid P) since <time>`.
fn describe_member(client_id: &str, client_host: &str) -> String {
    let field = |name: &str| client_id.split('.').find_map(|p| p.strip_prefix(name)).map(str::to_owned);
    match (field("host-"), field("pid-"), field("since-").and_then(|s| s.parse::<i64>().ok())) {
        (Some(host), Some(pid), Some(since)) => {
            let when = time::OffsetDateTime::from_unix_timestamp(since)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_else(|| since.to_string());
            format!(
                "topicform on {host} (pid {pid}, connecting from {}) since {when}",
                client_host.trim_start_matches('/')
            )
        }
        _ => format!("`{client_id}` from {client_host}"),
    }
}

/// Keeps the membership alive (polls) until the lock is dropped, then
/// leaves the group.
fn keep(consumer: Client<BaseConsumer<DefaultConsumerContext>>, group: String) -> GroupLock {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let (done, left) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while !stopped.load(Ordering::SeqCst) {
            let _ = consumer.poll(Duration::from_millis(100));
        }
        consumer.unsubscribe();
        // Dropping the consumer closes it: LeaveGroup, so a waiter's
        // rebalance starts now rather than after the session timeout.
        drop(consumer);
        let _ = done.send(());
    });
    GroupLock { stop, left: Some(left), group }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_creates_its_lock_topic_and_event_hubs_uses_a_hub_of_the_spec() {
        let kafka = Cluster::Kafka(topicform_core::spec::model::KafkaCluster {
            bootstrap_servers: vec!["localhost:9092".into()],
            tls: None,
            sasl: None,
            client_config: Default::default(),
        });
        assert_eq!(LockTopic::of(&kafka), LockTopic { name: "__topicform_lock", create: true });
        assert!(topicform_core::spec::is_internal_topic(LOCK_TOPIC), "plans never touch the Kafka lock topic");
        assert!(!EVENT_HUBS_LOCK_HUB.starts_with("__"), "hub names cannot start with `__`");
    }

    #[test]
    fn a_holder_is_named_by_host_process_and_start() {
        assert_eq!(
            describe_member("topicform.host-ci-7.pid-42.since-1764633600", "/10.0.0.7"),
            "topicform on ci-7 (pid 42, connecting from 10.0.0.7) since 2025-12-02T00:00:00Z"
        );
        assert_eq!(describe_member("other", "/h"), "`other` from /h");
    }

    #[test]
    fn assignments_are_counted_from_the_consumer_protocol_bytes() {
        // version 0, one topic "t" with partitions [0], no user data.
        let bytes = [0, 0, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(assigned_partitions(&bytes), 1);
        assert_eq!(assigned_partitions(&[0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(assigned_partitions(&[]), 0);
    }
}
