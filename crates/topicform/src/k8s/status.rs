//! What the last run did, readable with kubectl: a status ConfigMap per
//! environment with a Strimzi-style `Ready` condition, and one Event per
//! run on it (`kubectl describe configmap topicform-status-<env>` shows both).
//!
//! A ConfigMap rather than a custom resource: it needs no CRD installed
//! cluster-wide before the first run (a hook Job runs before anything else
//! of its release) and no cluster-scoped rights; labels carry the condition
//! so `kubectl get configmap -l app.kubernetes.io/component=topicform-status
//! -L topicform.dev/ready,topicform.dev/reason` lists every environment.
//!
//! Writing the status never fails the command: a run that changed the
//! cluster must report its exit code, whatever the API server says.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde::Serialize;
use topicform_core::plan::{Action, Plan};
use topicform_core::spec::Conflict;

use super::Kube;
use crate::apply::{ApplyReport, Status};
use crate::Error;

/// Where the status goes (`--status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChoice {
    /// Inside a pod, or where the spec reads topics from Kubernetes: the
    /// pod's (or kubeconfig context's) namespace. With a Kubernetes Lease
    /// lock: the Lease's namespace. Otherwise nowhere.
    Auto,
    None,
    /// This namespace, or the kubeconfig context's.
    Kubernetes {
        namespace: Option<String>,
    },
}

impl std::str::FromStr for StatusChoice {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.split_once(':') {
            None if s == "auto" => Ok(StatusChoice::Auto),
            None if s == "none" => Ok(StatusChoice::None),
            None if s == "kubernetes" => Ok(StatusChoice::Kubernetes { namespace: None }),
            Some(("kubernetes", ns)) => match format!("kubernetes:{ns}").parse() {
                Ok(topicform_core::spec::lock::LockChoice::Kubernetes { namespace, name: None }) => {
                    Ok(StatusChoice::Kubernetes { namespace })
                }
                Ok(_) => Err(format!("`{s}`: name a namespace only, as in `kubernetes:platform`")),
                Err(e) => Err(e),
            },
            _ => {
                Err(format!("`{s}` is not a status target; use `auto`, `none`, `kubernetes` or `kubernetes:NAMESPACE`"))
            }
        }
    }
}

/// Why the environment is or is not `Ready`: the condition's reason, the
/// Event's reason, and the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Reason {
    /// Apply made every change.
    Applied,
    /// Nothing to change.
    InSync,
    /// The plan refused a change (a partition decrease, a delete without
    /// the opt-ins...); nothing was written.
    Refused,
    /// `plan` found changes that are not applied yet.
    Drift,
    /// The cluster (or Azure Resource Manager) failed a request, or could
    /// not be reached.
    KafkaError,
    /// A contributed declaration was refused: an older owner declares the
    /// topic differently. Everything else was planned or applied.
    ResourceConflict,
}

impl Reason {
    pub fn is_ready(self) -> bool {
        matches!(self, Reason::Applied | Reason::InSync)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One run, as the status object and the Event tell it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub reason: Reason,
    /// `3 created, 1 updated`; `orders.placed: partitions cannot decrease…`.
    pub message: String,
    /// The plan's counts, when there was a plan.
    pub plan: Option<String>,
    pub cluster_id: Option<String>,
    /// Contributed topic (and orphan) -> owner, when there was a plan: what
    /// the next run tells orphans by.
    pub owners: Option<BTreeMap<String, String>>,
    /// Refused declarations, each an Event on the ConfigMap refused.
    pub conflicts: Vec<Conflict>,
}

/// Names shown in a message before "and N more".
const NAMED: usize = 5;

impl RunOutcome {
    /// After `plan`: in sync, drift or refused.
    pub fn planned(plan: &Plan) -> RunOutcome {
        let reason = if plan.has_refusals() {
            Reason::Refused
        } else if plan.has_changes() {
            Reason::Drift
        } else {
            Reason::InSync
        };
        let message = match reason {
            Reason::Refused => refusals(plan),
            Reason::Drift => {
                let pending: Vec<String> = plan
                    .topics
                    .iter()
                    .filter(|t| matches!(t.action, Action::Create | Action::Update | Action::Delete))
                    .map(|t| format!("{} {}", verb(t.action), t.topic))
                    .collect();
                format!("{} change(s) not applied: {}", pending.len(), named(&pending))
            }
            _ => format!("in sync: {} topic(s)", plan.summary.unchanged),
        };
        RunOutcome::of(plan, reason, message)
    }

    /// The outcome of a run that had `plan`: conflicts, when there are any
    /// and nothing worse happened, are its reason, and its message leads.
    fn of(plan: &Plan, reason: Reason, message: String) -> RunOutcome {
        let (reason, message) = match (reason, plan.conflicts.as_slice()) {
            (Reason::Applied | Reason::InSync | Reason::Drift, [_, ..]) => {
                let described: Vec<String> = plan.conflicts.iter().map(Conflict::describe).collect();
                let refused = format!("{} declaration(s) refused: {}", described.len(), named(&described));
                (Reason::ResourceConflict, format!("{refused}; otherwise {message}"))
            }
            _ => (reason, message),
        };
        RunOutcome {
            reason,
            message,
            plan: Some(crate::render::summary_line(plan)),
            cluster_id: plan.cluster_id.clone(),
            owners: Some(plan.owners()),
            conflicts: plan.conflicts.clone(),
        }
    }

    /// After `apply` carried out `plan` (a plan with refusals is never
    /// carried out: see [`RunOutcome::planned`]).
    pub fn applied(plan: &Plan, report: &ApplyReport) -> RunOutcome {
        let failures: Vec<String> = report
            .outcomes
            .iter()
            .filter_map(|o| match &o.status {
                Status::Failed { error } => Some(format!("{} ({}): {error}", o.topic, o.change)),
                _ => None,
            })
            .collect();
        let (reason, message) = if let Some(signal) = &report.interrupted {
            (
                Reason::KafkaError,
                format!("stopped by {signal}: {} applied, {} not sent", report.applied(), report.skipped()),
            )
        } else if !failures.is_empty() {
            (
                Reason::KafkaError,
                format!("{} of {} change(s) failed: {}", failures.len(), report.outcomes.len(), named(&failures)),
            )
        } else if plan.has_changes() {
            let s = &plan.summary;
            let grants = plan.access.as_ref().map(|a| a.summary).unwrap_or_default();
            let kind = topicform_core::access::grant_kind(&plan.cluster_type);
            let parts: Vec<String> = [
                (s.create, "created".to_owned()),
                (s.update, "updated".to_owned()),
                (s.delete, "deleted".to_owned()),
                (grants.create, format!("{kind}(s) created")),
                (grants.delete, format!("{kind}(s) deleted")),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            (Reason::Applied, parts.join(", "))
        } else {
            (Reason::InSync, format!("in sync: {} topic(s)", plan.summary.unchanged))
        };
        RunOutcome::of(plan, reason, message)
    }

    /// A run that ended in an error before or instead of a report.
    pub fn failed(error: &Error) -> RunOutcome {
        let message = crate::secret::scrub(&error.to_string()).into_owned();
        RunOutcome {
            reason: Reason::KafkaError,
            message,
            plan: None,
            cluster_id: None,
            owners: None,
            conflicts: vec![],
        }
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Unchanged => "keep",
        Action::Refused => "refuse",
    }
}

fn refusals(plan: &Plan) -> String {
    let reasons: Vec<String> = plan
        .topics
        .iter()
        .filter(|t| t.action == Action::Refused)
        .flat_map(|t| t.reasons.iter().map(move |r| format!("{}: {r}", t.topic)))
        .collect();
    format!("{} refused: {}", plan.summary.refused, named(&reasons))
}

fn named(items: &[String]) -> String {
    let mut s = items.iter().take(NAMED).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > NAMED {
        s.push_str(&format!("; and {} more", items.len() - NAMED));
    }
    s
}

/// The status object of environment `environment`.
pub fn object_name(environment: &str) -> String {
    super::object_name("topicform-status", environment)
}

/// Writes the status of runs of one environment into one namespace.
pub struct StatusWriter {
    kube: Kube,
    environment: String,
    spec_digest: String,
    /// The spec file's text, for the digest with contributions.
    spec_source: String,
    command: &'static str,
    /// Contributing ConfigMaps by owner name: a refused one gets an Event.
    contributors: BTreeMap<String, ObjectReference>,
}

impl StatusWriter {
    /// Where `choice` says, or `None`. `lease_namespace`: the namespace of a
    /// Kubernetes Lease this run holds, which `auto` follows. A failure to
    /// connect is a warning, never the command's failure.
    pub async fn connect(
        choice: &StatusChoice,
        lease_namespace: Option<&str>,
        reads_kubernetes: bool,
        environment: &str,
        spec_source: &str,
        command: &'static str,
        timeout: Duration,
    ) -> Option<StatusWriter> {
        let namespace = match choice {
            StatusChoice::None => return None,
            StatusChoice::Kubernetes { namespace } => namespace.clone(),
            StatusChoice::Auto if lease_namespace.is_some() => lease_namespace.map(str::to_owned),
            StatusChoice::Auto if reads_kubernetes || super::in_pod() => None,
            StatusChoice::Auto => return None,
        };
        match Kube::connect(namespace.as_deref(), timeout).await {
            Ok(kube) => Some(StatusWriter {
                kube,
                environment: environment.to_owned(),
                spec_digest: digest(spec_source),
                spec_source: spec_source.to_owned(),
                command,
                contributors: BTreeMap::new(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot write the run's status to Kubernetes");
                None
            }
        }
    }

    pub fn namespace(&self) -> &str {
        &self.kube.namespace
    }

    /// The ConfigMaps that contributed topics: a refused one gets an Event
    /// of its own, and their texts join the spec's in the digest (the
    /// input of the run is all of them).
    pub fn set_contributions(&mut self, contributions: &crate::k8s::contributions::Contributions) {
        self.contributors = contributions.references.clone();
        let mut documents: Vec<(&str, &str)> =
            contributions.documents.iter().map(|d| (d.owner.as_str(), d.text())).collect();
        documents.sort();
        let mut input = self.spec_source.clone();
        for (owner, text) in documents {
            input.push_str(&format!("\n---\n# {owner}\n{text}"));
        }
        self.spec_digest = digest(&input);
    }

    /// The owners the last run recorded (topic -> `ConfigMap NS/NAME`):
    /// how this run tells an orphan from a topic nobody declared. Empty,
    /// with a warning, when the status cannot be read.
    pub async fn former_owners(&self) -> BTreeMap<String, String> {
        let api: Api<ConfigMap> = Api::namespaced(self.kube.client.clone(), &self.kube.namespace);
        let name = object_name(&self.environment);
        let read = tokio::time::timeout(Duration::from_secs(10), api.get_opt(&name)).await;
        let data = match read {
            Ok(Ok(cm)) => cm.and_then(|cm| cm.data).unwrap_or_default(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the owners the last run recorded; no topic is reported orphaned");
                return BTreeMap::new();
            }
            Err(_) => {
                tracing::warn!(
                    "cannot read the owners the last run recorded (no answer in 10 s); no topic is reported orphaned"
                );
                return BTreeMap::new();
            }
        };
        data.get(OWNERS_KEY).and_then(|o| serde_json::from_str(o).ok()).unwrap_or_default()
    }

    /// Writes the status object and one Event; failures are warnings.
    pub async fn record(&self, outcome: &RunOutcome) {
        let name = object_name(&self.environment);
        match tokio::time::timeout(Duration::from_secs(10), self.write(&name, outcome)).await {
            Ok(Ok(())) => {
                tracing::info!(status = %format!("{}/{name}", self.kube.namespace), reason = %outcome.reason, "recorded the run's status")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot record the run's status"),
            Err(_) => tracing::warn!("cannot record the run's status: the API server did not answer in 10 s"),
        }
    }

    async fn write(&self, name: &str, outcome: &RunOutcome) -> crate::Result<()> {
        let api: Api<ConfigMap> = Api::namespaced(self.kube.client.clone(), &self.kube.namespace);
        let rbac = "get, create and patch on configmaps, and create on events.events.k8s.io";
        let err = |what: &str, e| {
            super::api_error(format!("{what} ConfigMap {}/{name}", self.kube.namespace), &self.kube.namespace, rbac, e)
        };
        let previous = api.get_opt(name).await.map_err(|e| err("read", e))?;
        let now = super::rfc3339(Timestamp::now());
        let ready = if outcome.reason.is_ready() { "True" } else { "False" };
        let previous_data = previous.and_then(|cm| cm.data).unwrap_or_default();
        // The condition's transition time moves only when Ready changes.
        let transition = match previous_data.get("ready") {
            Some(was) if was == ready => {
                previous_data.get("lastTransitionTime").cloned().unwrap_or_else(|| now.clone())
            }
            _ => now.clone(),
        };
        let message = crate::secret::scrub(&outcome.message).into_owned();
        // The controller runs every few minutes: an Event says what
        // happened, not that the same thing is still true.
        let repeated = self.command == "controller"
            && previous_data.get("reason").map(String::as_str) == Some(outcome.reason.to_string().as_str())
            && previous_data.get("message") == Some(&message);
        let condition = serde_json::json!([{
            "type": "Ready",
            "status": ready,
            "reason": outcome.reason.to_string(),
            "message": message,
            "lastTransitionTime": transition,
        }]);
        let mut data = BTreeMap::from([
            ("environment".to_owned(), self.environment.clone()),
            ("ready".to_owned(), ready.to_owned()),
            ("reason".to_owned(), outcome.reason.to_string()),
            ("message".to_owned(), message.clone()),
            ("command".to_owned(), self.command.to_owned()),
            ("lastRunTime".to_owned(), now),
            ("lastTransitionTime".to_owned(), transition),
            ("specDigest".to_owned(), self.spec_digest.clone()),
            ("runBy".to_owned(), super::holder_identity()),
            ("conditions".to_owned(), serde_json::to_string_pretty(&condition).expect("JSON")),
        ]);
        let owners = outcome.owners.as_ref().map(|o| serde_json::to_string_pretty(o).expect("JSON"));
        // Keep the last plan, cluster id and owners when this run got no plan.
        for (key, value) in [("plan", &outcome.plan), ("clusterId", &outcome.cluster_id), (OWNERS_KEY, &owners)] {
            if let Some(v) = value.as_ref().or(previous_data.get(key)) {
                data.insert(key.to_owned(), v.clone());
            }
        }
        let labels = BTreeMap::from([
            ("app.kubernetes.io/managed-by".to_owned(), "topicform".to_owned()),
            ("app.kubernetes.io/component".to_owned(), "topicform-status".to_owned()),
            ("topicform.dev/environment".to_owned(), label_value(&self.environment)),
            ("topicform.dev/ready".to_owned(), ready.to_owned()),
            ("topicform.dev/reason".to_owned(), outcome.reason.to_string()),
        ]);
        let desired = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": name, "labels": labels },
            "data": data,
        });
        let written = api
            .patch(name, &PatchParams::apply("topicform").force(), &Patch::Apply(&desired))
            .await
            .map_err(|e| err("write", e))?;
        if repeated {
            return Ok(());
        }
        let reference = ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("ConfigMap".into()),
            name: Some(name.to_owned()),
            namespace: Some(self.kube.namespace.clone()),
            uid: written.metadata.uid.clone(),
            ..Default::default()
        };
        let recorder = Recorder::new(
            self.kube.client.clone(),
            Reporter { controller: "topicform".into(), instance: Some(super::host()) },
        );
        let event = Event {
            type_: if outcome.reason.is_ready() { EventType::Normal } else { EventType::Warning },
            reason: outcome.reason.to_string(),
            note: Some(truncate(&message, 1000)),
            action: match self.command {
                "apply" => "Apply".into(),
                "controller" => "Reconcile".into(),
                _ => "Plan".into(),
            },
            secondary: None,
        };
        recorder.publish(&event, &reference).await.map_err(|e| {
            super::api_error(format!("create an Event in {}", self.kube.namespace), &self.kube.namespace, rbac, e)
        })?;
        for conflict in &outcome.conflicts {
            self.publish_conflict(&recorder, conflict).await;
        }
        Ok(())
    }

    /// A Warning `ResourceConflict` Event on the refused ConfigMap, so
    /// `kubectl describe configmap` of the service's release shows why its
    /// topic was not taken; a failure is a warning.
    async fn publish_conflict(&self, recorder: &Recorder, conflict: &Conflict) {
        let Some(reference) = self.contributors.get(&conflict.refused) else { return };
        let event = Event {
            type_: EventType::Warning,
            reason: Reason::ResourceConflict.to_string(),
            note: Some(truncate(&conflict.describe(), 1000)),
            action: "Merge".into(),
            secondary: None,
        };
        if let Err(e) = recorder.publish(&event, reference).await {
            let namespace = reference.namespace.clone().unwrap_or_default();
            tracing::warn!(error = %e, "cannot record the ResourceConflict Event on {} (create on events.events.k8s.io in `{namespace}`)", conflict.refused);
        }
    }
}

/// The status data key of the owners map (JSON).
const OWNERS_KEY: &str = "owners";

/// `sha256:<hex>` of the spec file as read.
fn digest(source: &str) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(source.as_bytes())))
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn label_value(s: &str) -> String {
    let cleaned: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).take(63).collect();
    cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned()
}

/// At most `max` bytes, cut at a character boundary, marked when cut.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max - 3;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests;
