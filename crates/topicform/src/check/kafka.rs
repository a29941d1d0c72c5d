//! The Kafka steps of `check`: SASL and metadata through one librdkafka
//! client, and the produce/consume round trip.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::{FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::{ClusterInfo, Connection, Status, Step};
use crate::kafka::{describe_client_error, Client, ClientError, Handle};
use crate::Error;

/// Keeps librdkafka's error callbacks: the reason behind "all brokers down"
/// (an authentication failure, an SSL error) only arrives there.
#[derive(Default, Clone)]
struct Capture {
    errors: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    /// Keeps up to 20 distinct messages (librdkafka repeats itself per retry).
    fn push(&self, message: String) {
        if let Ok(mut e) = self.errors.lock() {
            if e.len() < 20 && !e.iter().any(|m| m.contains(&message) || message.contains(m.as_str())) {
                e.push(message);
            }
        }
    }

    fn text(&self) -> String {
        self.errors.lock().map(|e| e.join("; ")).unwrap_or_default()
    }
}

impl ClientContext for Capture {
    /// librdkafka logs the broker's reason for a failed SASL handshake
    /// ("Authentication failed: Invalid username or password") at error level.
    fn log(&self, level: RDKafkaLogLevel, _: &str, message: &str) {
        if (level as i32) <= (RDKafkaLogLevel::Error as i32) {
            // Drop the "(after 302ms in state AUTH_REQ, ...)" tail so repeats match.
            self.push(message.split(" (after ").next().unwrap_or(message).to_owned());
        }
    }
    fn error(&self, error: KafkaError, reason: &str) {
        self.push(format!("{error}: {}", reason.split(" (after ").next().unwrap_or(reason)));
    }
}
impl ConsumerContext for Capture {}
impl ProducerContext for Capture {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {
        if let Err((e, _)) = result {
            self.push(format!("delivery failed: {e}"));
        }
    }
}

fn config(target: &Connection) -> Result<ClientConfig, Step> {
    target.client_config().map_err(|e| {
        Step::failed("sasl", e.to_string(), "the client settings are not usable", "fix the connection settings")
    })
}

/// A client's token failure is the SASL step's: no token, no authentication.
fn token_failed(e: &Error) -> Step {
    let fix = miette::Diagnostic::help(e).map(|h| h.to_string()).unwrap_or_default();
    Step::failed("sasl", e.to_string(), "no OAUTHBEARER token could be obtained from the identity provider", fix)
}

/// Classifies what librdkafka reported into a cause and a fix.
fn classify(step: &'static str, what: &str, target: &Connection) -> Step {
    let lower = what.to_ascii_lowercase();
    // A SASL handshake sent to a listener without SASL: the broker lists no
    // mechanisms. The credentials were never looked at.
    if lower.contains("request not valid in current sasl state") {
        return Step::failed(
            "sasl",
            what.to_owned(),
            "this listener does not use SASL (it is PLAINTEXT or SSL), so the SASL handshake is refused",
            "use the listener's own security protocol, or the port of the broker's SASL listener",
        );
    }
    if lower.contains("authentication") || lower.contains("sasl") && lower.contains("fail") {
        let fix = if target.mechanism == Some(topicform_core::spec::model::SaslMechanism::OauthBearer) {
            if target.is_event_hubs() {
                "the token was refused: check that it is issued for https://<namespace>.servicebus.windows.net (scope .../.default) by the namespace's tenant, and that the identity has an Azure Event Hubs Data role on the namespace"
            } else {
                "the token was refused: check that sasl.oauth.scope gives the audience the broker expects, and the broker's expected issuer and JWKS"
            }
        } else if target.is_event_hubs() {
            "for Event Hubs PLAIN the user name is the literal `$ConnectionString` and the password the whole connection string (Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...) of this namespace"
        } else {
            "check the user name and password (and that the broker has this user for this mechanism)"
        };
        return Step::failed(
            "sasl",
            what.to_owned(),
            "the broker rejected the credentials (authentication failed)",
            fix,
        );
    }
    if lower.contains("ssl") || lower.contains("certificate") {
        return Step::failed(
            step,
            what.to_owned(),
            "the TLS session failed inside the Kafka client",
            "check the CA (tls.caFile / KAFKA_SSL_CA_LOCATION) and that the port is a TLS listener",
        );
    }
    if lower.contains("authoriz") {
        return Step::failed(
            step,
            what.to_owned(),
            "the principal is not allowed to do this (authorization failed)",
            "grant the service's principal the ACL or role it needs",
        );
    }
    Step::failed(
        step,
        what.to_owned(),
        "the Kafka protocol exchange failed",
        "check that the port belongs to a Kafka listener with this security protocol",
    )
}

/// Connects, authenticates and reads metadata: the SASL step, the metadata
/// step and what the cluster said about itself.
pub async fn metadata(target: &Connection, timeout: Duration) -> (Step, Step, Option<ClusterInfo>) {
    let protocol = target.protocol();
    let sasl_skipped = move || Step::skipped("sasl", format!("{protocol} does not authenticate"));
    let cfg = match config(target) {
        Ok(cfg) => cfg,
        Err(step) => return (step, Step::skipped("metadata", "an earlier step failed"), None),
    };
    let target = target.clone();
    tokio::task::spawn_blocking(move || {
        let capture = Capture::default();
        let client: Client<BaseConsumer<Capture>> = match Client::create(&target, &cfg, capture.clone(), timeout) {
            Ok(c) => c,
            Err(ClientError::Create(e)) => {
                let failed = Step::failed(
                    "metadata",
                    describe_client_error(&e),
                    "the Kafka client could not be created",
                    "check the client settings",
                );
                return (sasl_skipped(), failed, None);
            }
            Err(ClientError::Token(e)) => {
                return (token_failed(&e), Step::skipped("metadata", "an earlier step failed"), None)
            }
        };
        match client.fetch_metadata(None, timeout) {
            Ok(md) => {
                let cluster_id = client.client().fetch_cluster_id(timeout);
                // SAFETY: the client's handle is live for this call.
                let controller = unsafe {
                    rdkafka_sys::rd_kafka_controllerid(client.client().native_ptr(), timeout.as_millis() as i32)
                };
                let brokers: Vec<String> =
                    md.brokers().iter().map(|b| format!("{}@{}:{}", b.id(), b.host(), b.port())).collect();
                let info = ClusterInfo {
                    cluster_id: cluster_id.clone(),
                    controller_id: (controller >= 0).then_some(controller),
                    brokers: brokers.clone(),
                    topics: md.topics().len(),
                };
                let sasl = match target.mechanism {
                    Some(m) => Step::ok("sasl", format!("authenticated with {}", m.as_str())),
                    None => sasl_skipped(),
                };
                let detail = format!(
                    "cluster {}, controller {}, {} broker(s): {}; {} topic(s) visible",
                    cluster_id.as_deref().unwrap_or("(not reported)"),
                    info.controller_id.map_or("(not reported)".into(), |c| c.to_string()),
                    brokers.len(),
                    brokers.join(", "),
                    info.topics
                );
                (sasl, Step::ok("metadata", detail), Some(info))
            }
            Err(e) => {
                // Errors reach the error callback through the client's queue.
                let _ = client.poll(Duration::from_millis(200));
                let reported = capture.text();
                let what = if reported.is_empty() { e.to_string() } else { format!("{e} ({reported})") };
                // TCP connected, and then silence: no refusal, no disconnect,
                // no handshake error was ever reported, only the wait ran out.
                let silent = reported.is_empty()
                    && matches!(
                        e.rdkafka_error_code(),
                        Some(RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::BrokerTransportFailure)
                    );
                let step = if silent {
                    Step::failed(
                        "metadata",
                        what,
                        format!(
                            "the broker accepted the connection but did not answer within --timeout ({} s)",
                            timeout.as_secs()
                        ),
                        "raise --timeout, or look at the broker's load and logs and at the network in between",
                    )
                } else {
                    classify("metadata", &what, &target)
                };
                if step.name == "sasl" {
                    (step, Step::skipped("metadata", "an earlier step failed"), None)
                } else {
                    let sasl =
                        if target.mechanism.is_some() { Step::skipped("sasl", "not reached") } else { sasl_skipped() };
                    (sasl, step, None)
                }
            }
        }
    })
    .await
    .expect("metadata task panicked")
}

/// Produces one message to `topic` and reads it back from its partition and
/// offset.
pub async fn roundtrip(target: &Connection, topic: &str, timeout: Duration) -> Step {
    on_topic("roundtrip", target, topic, timeout, roundtrip_blocking).await
}

/// Runs step `name` (`work`: blocking librdkafka calls) with a client
/// configuration for `target`; a configuration that cannot be made is the
/// step's failure.
async fn on_topic(
    name: &'static str,
    target: &Connection,
    topic: &str,
    timeout: Duration,
    work: fn(&Connection, ClientConfig, &str, Duration) -> Step,
) -> Step {
    let cfg = match config(target) {
        Ok(cfg) => cfg,
        Err(step) => return Step { name, ..step },
    };
    let (target, topic) = (target.clone(), topic.to_owned());
    tokio::task::spawn_blocking(move || work(&target, cfg, &topic, timeout)).await.expect("check task panicked")
}

fn roundtrip_blocking(target: &Connection, cfg: ClientConfig, topic: &str, timeout: Duration) -> Step {
    let started = Instant::now();
    let marker = format!("topicform-check-{}", std::process::id());
    let landed = probe_topic(target, &cfg, topic, timeout)
        .and_then(|()| produce(target, &cfg, topic, &marker, timeout))
        .and_then(|()| read_back(target, cfg, topic, &marker, timeout));
    match landed {
        Ok((partition, offset)) => Step::ok(
            "roundtrip",
            format!(
                "produced to {topic}[{partition}]@{offset} and read it back in {} ms",
                started.elapsed().as_millis()
            ),
        ),
        Err(step) => step,
    }
}

/// A round-trip client; its failure is the round trip's.
fn roundtrip_client<C: Handle + FromClientConfigAndContext<Capture>>(
    target: &Connection,
    cfg: &ClientConfig,
    role: &str,
    timeout: Duration,
) -> Result<Client<C>, Step> {
    Client::create(target, cfg, Capture::default(), timeout).map_err(|e| match e {
        ClientError::Create(e) => Step::failed(
            "roundtrip",
            // Never the rejected value: it may be a password or a key.
            describe_client_error(&e),
            format!("the {role} could not be created"),
            "check the client settings",
        ),
        ClientError::Token(e) => Step { name: "roundtrip", ..token_failed(&e) },
    })
}

/// Names a missing or unauthorized topic at once, instead of waiting for
/// the producer to give up.
fn probe_topic(target: &Connection, cfg: &ClientConfig, topic: &str, timeout: Duration) -> Result<(), Step> {
    let probe: Client<BaseConsumer<Capture>> = roundtrip_client(target, cfg, "probe", timeout)?;
    let md =
        probe.fetch_metadata(Some(topic), timeout).map_err(|e| classify_roundtrip(&e.to_string(), target, topic))?;
    let entry = md.topics().first();
    if let Some(code) = entry.and_then(|t| t.error()) {
        // Unknown and unauthorized topics both come back with an error code.
        let code = rdkafka::error::RDKafkaErrorCode::from(code);
        return Err(classify_roundtrip(&format!("metadata for `{topic}`: {code}"), target, topic));
    }
    if entry.is_none_or(|t| t.partitions().is_empty()) {
        return Err(classify_roundtrip(&format!("no topic `{topic}` in the metadata (unknown topic)"), target, topic));
    }
    Ok(())
}

/// Sends `marker` and waits until it is delivered.
fn produce(target: &Connection, cfg: &ClientConfig, topic: &str, marker: &str, timeout: Duration) -> Result<(), Step> {
    let mut pcfg = cfg.clone();
    pcfg.set("message.timeout.ms", timeout.as_millis().to_string()).set("compression.type", "none");
    let producer: Client<ThreadedProducer<Capture>> = roundtrip_client(target, &pcfg, "producer", timeout)?;
    let capture = producer.context().clone();
    let record = BaseRecord::to(topic).key("topicform-check").payload(marker);
    producer.send(record).map_err(|(e, _)| classify_roundtrip(&e.to_string(), target, topic))?;
    producer.flush(timeout).map_err(|e| classify_roundtrip(&format!("{e} {}", capture.text()), target, topic))?;
    let reported = capture.text();
    if reported.contains("delivery failed") {
        return Err(classify_roundtrip(&reported, target, topic));
    }
    Ok(())
}

/// Reads the newest messages of every partition until `marker` shows up;
/// returns where it landed.
fn read_back(
    target: &Connection,
    mut cfg: ClientConfig,
    topic: &str,
    marker: &str,
    timeout: Duration,
) -> Result<(i32, i64), Step> {
    let failed = |e: KafkaError| classify_roundtrip(&e.to_string(), target, topic);
    cfg.set("group.id", "topicform-check").set("enable.auto.commit", "false").set("auto.offset.reset", "earliest");
    let consumer: Client<BaseConsumer<Capture>> = roundtrip_client(target, &cfg, "consumer", timeout)?;
    let md = consumer.fetch_metadata(Some(topic), timeout).map_err(failed)?;
    let partitions: Vec<i32> =
        md.topics().first().map(|t| t.partitions().iter().map(|p| p.id()).collect()).unwrap_or_default();
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, timeout).map_err(failed)?;
        // Look a few messages back: others may produce concurrently.
        let _ = tpl.add_partition_offset(topic, p, Offset::Offset((high - 10).max(low)));
    }
    consumer.assign(&tpl).map_err(failed)?;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) if m.payload() == Some(marker.as_bytes()) => return Ok((m.partition(), m.offset())),
            Some(Err(e)) => return Err(failed(e)),
            _ => {}
        }
    }
    Err(Step::failed(
        "roundtrip",
        format!("the message to {topic} did not come back within {} s", timeout.as_secs()),
        "the message was produced but could not be read back",
        "check that this principal may read the topic and that consumers can reach every partition leader",
    ))
}

/// Produces one message to `topic` (one the service writes) without
/// reading it back: a producer's least privilege has no READ.
pub async fn produce_only(target: &Connection, topic: &str, timeout: Duration) -> Step {
    on_topic("produce", target, topic, timeout, |target, cfg, topic, timeout| {
        let marker = format!("topicform-check-produce-{}", std::process::id());
        match probe_topic(target, &cfg, topic, timeout).and_then(|()| produce(target, &cfg, topic, &marker, timeout)) {
            Ok(()) => Step::ok("produce", format!("produced one message to {topic}")),
            Err(step) => Step { name: "produce", ..step },
        }
    })
    .await
}

/// Tries to produce one message to `topic`, which the service must not be
/// allowed to write: refused is the pass. Allowed, the message is written
/// (there is no way to ask "may I?" without trying) and the step fails.
pub async fn denied(target: &Connection, topic: &str, timeout: Duration) -> Step {
    on_topic("denied", target, topic, timeout, denied_blocking).await
}

fn denied_blocking(target: &Connection, cfg: ClientConfig, topic: &str, timeout: Duration) -> Step {
    let marker = format!("topicform-check-denied-{}", std::process::id());
    let attempt =
        probe_topic(target, &cfg, topic, timeout).and_then(|()| produce(target, &cfg, topic, &marker, timeout));
    match attempt {
        Ok(()) => Step::failed(
            "denied",
            format!("wrote one message to {topic}"),
            format!("this principal may write `{topic}`, a topic it should not own"),
            "remove the grant: with topicform, the ACL shows as unmanaged in `plan` (another principal's or a DENY is never changed) or, if topicform granted it, drop the topic from the service's `produces:` and apply --allow-delete with `pruneAcls: true`",
        ),
        Err(step) if step.detail.to_ascii_lowercase().contains("authoriz") => {
            Step::ok("denied", format!("producing to {topic} was refused ({}), as it should be", step.detail))
        }
        // Not reaching the topic for another reason proves nothing.
        Err(step) => Step { name: "denied", ..step },
    }
}

fn classify_roundtrip(what: &str, target: &Connection, topic: &str) -> Step {
    let lower = what.to_ascii_lowercase();
    if lower.contains("authoriz") {
        let grant = if target.is_event_hubs() {
            format!("grant its identity \"Azure Event Hubs Data Sender\" on event hub `{topic}` to produce and \"Azure Event Hubs Data Receiver\" to consume (with topicform: list the topic under the service's `produces:` / `consumes:` with its object id as the principal, and apply; Azure takes up to 10 minutes to enforce a new assignment), or use a SAS policy with Send and Listen")
        } else {
            format!("grant it WRITE and DESCRIBE on `{topic}` to produce, READ and DESCRIBE to consume, and READ on its group (with topicform: list the topic under the service's `produces:` / `consumes:` with its principal, and apply)")
        };
        return Step::failed(
            "roundtrip",
            what.to_owned(),
            format!("the principal may not produce to or consume from `{topic}` (topic authorization failed)"),
            grant,
        );
    }
    if lower.contains("unknown topic") || lower.contains("unknown_topic") {
        return Step::failed(
            "roundtrip",
            what.to_owned(),
            format!("the topic `{topic}` does not exist"),
            "create it with `topicform apply`, or pass an existing topic to --roundtrip",
        );
    }
    let mut step = classify("roundtrip", what, target);
    step.name = "roundtrip";
    step
}

impl Status {
    /// A single character for text output.
    pub(crate) fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Failed => "✗",
            Status::Skipped => "-",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(brokers: &str) -> Connection {
        let vars =
            [("KAFKA_BROKERS", brokers), ("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"), ("KAFKA_SASL_MECHANISM", "PLAIN")];
        Connection::from_env(&|k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
    }

    #[test]
    fn a_refused_topic_names_the_grant_of_the_cluster_it_is_on() {
        let refused = "Broker: Topic authorization failed";
        let eh = classify_roundtrip(refused, &target("ns1.servicebus.windows.net:9093"), "orders");
        let fix = |s: &Step| s.fix.clone().unwrap_or_default();
        assert!(fix(&eh).contains("\"Azure Event Hubs Data Sender\" on event hub `orders`"), "{eh:?}");
        let kafka = classify_roundtrip(refused, &target("kafka-0:9093"), "orders");
        assert!(fix(&kafka).contains("WRITE and DESCRIBE on `orders`"), "{kafka:?}");
        assert!(!fix(&kafka).contains("Event Hubs"), "{kafka:?}");
    }
}
