//! `topicform check`: connect the way a service does and report each step
//! (DNS, TCP, TLS, SASL, metadata, optionally a produce/consume round trip)
//! with a plain-language cause and fix for every failure. Read-only: the
//! round trip writes one message to a topic the user names.

mod kafka;
mod net;

use std::time::Duration;

use serde::Serialize;

pub use crate::kafka::Connection;
use topicform_core::spec::model::{EventHubsTier, SaslMechanism};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It worked.
    Ok,
    /// It failed; later steps are skipped.
    Failed,
    /// Not applicable, or an earlier step failed.
    Skipped,
}

/// One step of the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `preflight`, `dns`, `tcp`, `tls`, `sasl`, `metadata`, `roundtrip`,
    /// `produce` or `denied`.
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// The cause of a failure, in plain language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Step {
    fn ok(name: &'static str, detail: impl Into<String>) -> Step {
        Step { name, status: Status::Ok, detail: detail.into(), cause: None, fix: None }
    }
    fn skipped(name: &'static str, why: impl Into<String>) -> Step {
        Step { name, status: Status::Skipped, detail: why.into(), cause: None, fix: None }
    }
    fn failed(name: &'static str, detail: impl Into<String>, cause: impl Into<String>, fix: impl Into<String>) -> Step {
        Step { name, status: Status::Failed, detail: detail.into(), cause: Some(cause.into()), fix: Some(fix.into()) }
    }
}

/// What the cluster said about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    /// Cluster id.
    pub cluster_id: Option<String>,
    /// Controller broker id (Kafka); absent where the service hides it.
    pub controller_id: Option<i32>,
    /// `id@host:port` of each broker.
    pub brokers: Vec<String>,
    /// Number of topics visible to this principal.
    pub topics: usize,
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// What was checked.
    pub target: String,
    /// Bootstrap servers.
    pub brokers: Vec<String>,
    /// Security protocol.
    pub security_protocol: String,
    /// SASL mechanism.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<String>,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// Cluster facts, when metadata worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
}

impl Report {
    /// True when no step failed.
    pub(crate) fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.status != Status::Failed)
    }
}

/// What `check` does beyond connecting: topics a service's rights are
/// proven on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Probes<'a> {
    /// Produce one message here and consume it back (a topic the service
    /// owns).
    pub roundtrip: Option<&'a str>,
    /// Produce one message here, without reading it back (a topic the
    /// service writes but does not read).
    pub produce: Option<&'a str>,
    /// Producing here must be refused (a topic the service does not own).
    pub denied: Option<&'a str>,
}

/// Runs every step against `target`, then the `probes`. After a failure the
/// remaining steps are skipped.
pub async fn run(target: &Connection, probes: Probes<'_>, timeout: Duration) -> Report {
    let mut steps: Vec<Step> = preflight(target).into_iter().collect();
    let failed = |steps: &[Step]| steps.iter().any(|s| s.status == Status::Failed);
    let skip = |name| Step::skipped(name, "an earlier step failed");

    let mut addresses = Vec::new();
    if failed(&steps) {
        steps.push(skip("dns"));
    } else {
        let (step, found) = net::resolve(&target.brokers, timeout).await;
        addresses = found;
        steps.push(step);
    }
    steps.push(if failed(&steps) { skip("tcp") } else { net::connect(&addresses, timeout).await });
    steps.push(if failed(&steps) {
        skip("tls")
    } else if !target.tls {
        Step::skipped("tls", format!("{} does not use TLS", target.protocol()))
    } else {
        net::tls(target, &addresses, timeout).await
    });
    let mut cluster = None;
    if failed(&steps) {
        steps.extend([skip("sasl"), skip("metadata")]);
    } else {
        // SASL and metadata share one librdkafka connection.
        let (sasl, metadata, info) = kafka::metadata(target, timeout).await;
        steps.extend([sasl, metadata]);
        cluster = info;
    }
    steps.push(if failed(&steps) {
        skip("roundtrip")
    } else {
        match probes.roundtrip {
            None => Step::skipped("roundtrip", "pass --roundtrip TOPIC to produce and consume one message"),
            Some(topic) => kafka::roundtrip(target, topic, timeout).await,
        }
    });
    // The rights of a service are worth knowing each, whatever the round
    // trip found.
    let connected = steps.iter().filter(|s| s.name != "roundtrip").all(|s| s.status != Status::Failed);
    if let Some(topic) = probes.produce {
        steps.push(if connected { kafka::produce_only(target, topic, timeout).await } else { skip("produce") });
    }
    if let Some(topic) = probes.denied {
        steps.push(if connected { kafka::denied(target, topic, timeout).await } else { skip("denied") });
    }
    Report {
        target: target.source.clone(),
        brokers: target.brokers.clone(),
        security_protocol: target.protocol().to_owned(),
        sasl_mechanism: target.mechanism.map(|m| m.as_str().to_owned()),
        steps,
        cluster,
    }
}

/// Why commands other than `check` cannot use `target`, worded as `check`
/// words it: `failure` is what the client reported (a metadata request
/// that failed or timed out). The steps up to metadata run again and the
/// first failed one names the cause and the fix; when they all pass now,
/// the cluster was only slow.
pub async fn explain_failure(target: &Connection, failure: String, timeout: Duration) -> crate::Error {
    let steps = run(target, Probes::default(), timeout).await.steps;
    match steps.into_iter().find(|s| s.status == Status::Failed) {
        Some(step) => unusable(target, step),
        None => crate::Error::Unreachable {
            bootstrap: target.brokers.join(","),
            step: "metadata".into(),
            detail: failure,
            cause: format!(
                "the cluster did not answer within --timeout ({} s); a check right after did pass",
                timeout.as_secs()
            ),
            fix: "raise --timeout, or look at the brokers' load and logs".into(),
        },
    }
}

/// The steps that take milliseconds (preflight, DNS, TCP), run before a
/// command's first request: nothing listening is said at once instead of
/// after the whole timeout.
pub async fn refuse_unreachable(target: &Connection, timeout: Duration) -> crate::Result<()> {
    if let Some(step) = preflight(target) {
        return Err(unusable(target, step));
    }
    let (step, addresses) = net::resolve(&target.brokers, timeout).await;
    if step.status == Status::Failed {
        return Err(unusable(target, step));
    }
    let step = net::connect(&addresses, timeout).await;
    if step.status == Status::Failed {
        return Err(unusable(target, step));
    }
    Ok(())
}

fn unusable(target: &Connection, step: Step) -> crate::Error {
    crate::Error::Unreachable {
        bootstrap: target.brokers.join(","),
        step: step.name.into(),
        detail: step.detail,
        cause: step.cause.unwrap_or_default(),
        fix: step.fix.unwrap_or_default(),
    }
}

/// Mistakes that can be named before any connection.
fn preflight(target: &Connection) -> Option<Step> {
    if target.brokers.is_empty() {
        return Some(Step::failed(
            "preflight",
            "no brokers",
            "the bootstrap list is empty",
            "set KAFKA_BROKERS / bootstrapServers",
        ));
    }
    if target.event_hubs_tier == Some(EventHubsTier::Basic) {
        return Some(Step::failed(
            "preflight",
            "Event Hubs Basic tier",
            "Event Hubs Basic tier has no Kafka endpoint",
            "use standard or higher",
        ));
    }
    if target.is_event_hubs() {
        if let Some(b) = target.brokers.iter().find(|b| b.ends_with(":9092")) {
            return Some(Step::failed(
                "preflight",
                format!("{b} uses port 9092"),
                "Event Hubs' Kafka endpoint listens on port 9093 only (SASL_SSL)",
                "use <namespace>.servicebus.windows.net:9093",
            ));
        }
        if !(target.tls && target.mechanism.is_some()) {
            return Some(Step::failed(
                "preflight",
                format!("security protocol {}", target.protocol()),
                "Event Hubs accepts SASL_SSL only",
                "set KAFKA_SECURITY_PROTOCOL=SASL_SSL with PLAIN ($ConnectionString) or OAUTHBEARER",
            ));
        }
    }
    if matches!(target.mechanism, Some(SaslMechanism::Plain | SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512))
        && (target.username.is_none() || target.password.is_none())
    {
        return Some(Step::failed(
            "preflight",
            "no SASL credentials",
            format!("SASL {} needs a user name and a password", target.mechanism.map(|m| m.as_str()).unwrap_or("")),
            "set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or the spec's sasl.username/password)",
        ));
    }
    None
}
