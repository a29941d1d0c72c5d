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

pub(crate) mod admin;
mod connection;
mod oauthbearer;

use std::ops::Deref;
use std::time::Duration;

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

/// Attempts for a request that fails with a retriable error.
pub(crate) const ATTEMPTS: u32 = 5;

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

/// Whether an error code is worth retrying (one list for every request).
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
    )
}

/// The pause before retry number `attempt`: 400 ms doubling, capped.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 * 2u64.pow(attempt.min(6)))
}

/// Runs a whole request, retrying it on retriable errors.
pub(crate) async fn retry<T, F, Fut>(operation: &str, mut call: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = rdkafka::error::KafkaResult<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match call().await {
            Ok(v) => return Ok(v),
            Err(KafkaError::AdminOp(code)) if is_retriable(&code) && attempt < ATTEMPTS => {
                tracing::warn!(operation, attempt, error = %code, "retrying");
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => return Err(Error::Kafka { operation: operation.to_owned(), message: describe_error(&e) }),
        }
    }
}
