//! The one Kafka client module: how every librdkafka client topicform opens
//! (the Kafka backend's admin client, `check`'s probes, `lag`'s consumers,
//! the Event Hubs Kafka endpoint) is configured, authenticated and created.
//!
//! - [`Connection`]: bootstrap servers, TLS, SASL and secrets, from a spec
//!   environment or a service's `KAFKA_*` variables, and the librdkafka
//!   settings for it.
//! - [`Client`]: a created client together with its OAUTHBEARER
//!   [`TokenSession`], so no caller can forget to start or outlive it.
//! - [`admin`]: admin requests through librdkafka's C API
//!   (IncrementalAlterConfigs and the per-topic broker messages rust-rdkafka
//!   does not expose).
//! - retry policy: which error codes are retriable, and the backoff.

pub(crate) mod acls;
pub(crate) mod admin;
mod connection;
mod oauthbearer;

use std::ops::Deref;
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::client::ClientContext;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientConfig;
use rdkafka_sys::types::RDKafka;

pub use connection::Connection;
pub(crate) use oauthbearer::TokenSession;

use crate::{Error, Result};

/// A librdkafka client and the token session that authenticates it.
/// Fields drop in order: the session stops refreshing before the client goes.
pub struct Client<C> {
    _session: Option<TokenSession>,
    client: C,
}

impl<C> Deref for Client<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.client
    }
}

/// Why a client could not be had: its settings, or its first token.
#[derive(Debug)]
pub enum ClientError {
    /// librdkafka refused the settings.
    Create(KafkaError),
    /// No OAUTHBEARER token within the timeout.
    Token(Error),
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Error {
        match e {
            ClientError::Create(e) => {
                Error::Kafka { operation: "creating the Kafka client".into(), message: describe_client_error(&e) }
            }
            ClientError::Token(e) => e,
        }
    }
}

/// The client kinds topicform creates, and their native handle.
pub trait Handle {
    fn handle(&self) -> *mut RDKafka;
}

impl<X: ClientContext> Handle for AdminClient<X> {
    fn handle(&self) -> *mut RDKafka {
        self.inner().native_ptr()
    }
}

impl<X: ConsumerContext> Handle for BaseConsumer<X> {
    fn handle(&self) -> *mut RDKafka {
        self.client().native_ptr()
    }
}

impl<X: ProducerContext + 'static> Handle for ThreadedProducer<X> {
    fn handle(&self) -> *mut RDKafka {
        self.client().native_ptr()
    }
}

impl<C: Handle> Client<C> {
    /// Creates a client from `config` (from [`Connection::client_config`],
    /// plus any per-role settings) and, for OAUTHBEARER, sets its first token
    /// and keeps it fresh.
    pub fn create<X>(
        connection: &Connection,
        config: &ClientConfig,
        context: X,
        timeout: Duration,
    ) -> std::result::Result<Client<C>, ClientError>
    where
        C: FromClientConfigAndContext<X>,
        X: ClientContext,
    {
        let client: C = config.create_with_context(context).map_err(ClientError::Create)?;
        let session = connection.start_token_session(client.handle(), timeout).map_err(ClientError::Token)?;
        Ok(Client { _session: session, client })
    }
}

/// A client creation error without the rejected value, which may be a
/// password or a key.
pub(crate) fn describe_client_error(e: &KafkaError) -> String {
    match e {
        KafkaError::ClientConfig(_, description, key, _value) => {
            format!("librdkafka rejected setting `{key}`: {description}")
        }
        other => other.to_string(),
    }
}

/// An error as one line: metadata errors by their code.
pub(crate) fn describe_error(e: &KafkaError) -> String {
    match e {
        KafkaError::MetadataFetch(code) => code.to_string(),
        other => other.to_string(),
    }
}

/// Whether an error code is one the Kafka protocol calls retriable (one
/// list for every request, read or write). A broker that has just started
/// answers NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS or
/// LEADER_NOT_AVAILABLE for a few seconds; none of them is an answer.
pub(crate) fn is_retriable(code: &RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        RequestTimedOut
            | OperationTimedOut
            | BrokerTransportFailure
            | AllBrokersDown
            | NotController
            | NetworkException
            | LeaderNotAvailable
            | NotLeaderForPartition
            | ThrottlingQuotaExceeded
            | CoordinatorNotAvailable
            | NotCoordinator
            | CoordinatorLoadInProgress
            | NotEnoughReplicas
            | NotEnoughReplicasAfterAppend
            | KafkaStorageError
            | FetchSessionIdNotFound
            | UnstableOffsetCommit
    )
}

/// Whether a client call's error is worth retrying: its code is retriable.
pub(crate) fn is_retriable_error(e: &KafkaError) -> bool {
    e.rdkafka_error_code().is_some_and(|code| is_retriable(&code))
}

/// When to retry: with backoff (400 ms doubling, capped at 6.4 s), for as
/// long as the user's `--timeout` allows from the first attempt. At least
/// one retry happens, so a blip right at the end of a short budget is not
/// fatal.
#[derive(Debug)]
pub(crate) struct Retry {
    started: Instant,
    budget: Duration,
    attempt: u32,
}

impl Retry {
    pub(crate) fn within(budget: Duration) -> Retry {
        Retry { started: Instant::now(), budget, attempt: 0 }
    }

    /// The pause before the next attempt, or `None` when the budget is spent.
    pub(crate) fn next_pause(&mut self) -> Option<Duration> {
        self.attempt += 1;
        let pause = Duration::from_millis(200 * 2u64.pow(self.attempt.min(5)));
        (self.attempt == 1 || self.started.elapsed() + pause <= self.budget).then_some(pause)
    }

    /// Attempts made so far (for logs).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempt + 1
    }
}

/// Runs a whole request, retrying it on retriable errors within `budget`.
pub(crate) async fn retry<T, F, Fut>(operation: &str, budget: Duration, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = rdkafka::error::KafkaResult<T>>,
{
    let mut policy = Retry::within(budget);
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if is_retriable_error(&e) => match policy.next_pause() {
                Some(pause) => {
                    tracing::warn!(operation, attempt = policy.attempts() - 1, error = %describe_error(&e), "retrying");
                    tokio::time::sleep(pause).await;
                }
                None => return Err(Error::Kafka { operation: operation.to_owned(), message: describe_error(&e) }),
            },
            Err(e) => return Err(Error::Kafka { operation: operation.to_owned(), message: describe_error(&e) }),
        }
    }
}

/// [`retry`] for the blocking calls of librdkafka's consumer (`lag`); the
/// error is librdkafka's, for the caller to word.
pub(crate) fn retry_blocking<T>(
    operation: &str,
    budget: Duration,
    mut call: impl FnMut() -> rdkafka::error::KafkaResult<T>,
) -> rdkafka::error::KafkaResult<T> {
    let mut policy = Retry::within(budget);
    loop {
        match call() {
            Err(e) if is_retriable_error(&e) => match policy.next_pause() {
                Some(pause) => {
                    tracing::warn!(operation, attempt = policy.attempts() - 1, error = %describe_error(&e), "retrying");
                    std::thread::sleep(pause);
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coordinator_and_leader_errors_of_a_starting_broker_are_retried() {
        for code in [
            RDKafkaErrorCode::NotCoordinator,
            RDKafkaErrorCode::CoordinatorLoadInProgress,
            RDKafkaErrorCode::NotController,
            RDKafkaErrorCode::LeaderNotAvailable,
        ] {
            assert!(is_retriable(&code), "{code:?}");
            assert!(is_retriable_error(&KafkaError::OffsetFetch(code)), "{code:?}");
        }
        assert!(!is_retriable(&RDKafkaErrorCode::TopicAlreadyExists));
        assert!(!is_retriable(&RDKafkaErrorCode::SaslAuthenticationFailed));
    }

    #[test]
    fn retries_stop_when_the_budget_is_spent_but_one_always_happens() {
        let mut none = Retry::within(Duration::ZERO);
        assert!(none.next_pause().is_some(), "the first retry is always allowed");
        assert!(none.next_pause().is_none());
        let mut long = Retry::within(Duration::from_secs(3600));
        let pauses: Vec<u128> = (0..7).map(|_| long.next_pause().unwrap().as_millis()).collect();
        assert_eq!(pauses, [400, 800, 1600, 3200, 6400, 6400, 6400]);
    }

    #[test]
    fn a_retriable_failure_is_retried_until_it_succeeds() {
        let mut calls = 0;
        let result = retry_blocking("OffsetFetch", Duration::from_secs(5), || {
            calls += 1;
            if calls < 3 {
                Err(KafkaError::OffsetFetch(RDKafkaErrorCode::NotCoordinator))
            } else {
                Ok(calls)
            }
        });
        assert_eq!(result.unwrap(), 3);
    }
}
