//! What apply did: one [`Outcome`] per topic and step (worded by the
//! engine's `StepItem::change`).

use serde::Serialize;

/// Everything apply did, in the order it was done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub outcomes: Vec<Outcome>,
    /// The signal that stopped apply early (`SIGINT`, `SIGTERM`), if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

/// One change to one topic and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub topic: String,
    /// What was asked, e.g. `create`, `add partitions 3 → 6`, `set retention.ms`.
    pub change: String,
    #[serde(flatten)]
    pub status: Status,
}

/// Whether a change was applied, failed, or never sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Status {
    Applied,
    /// The cluster refused or did not answer; `error` is its message.
    Failed {
        error: String,
    },
    /// Not sent, on purpose (a delete after a failed change, anything after
    /// an interruption).
    Skipped {
        reason: String,
    },
}

impl ApplyReport {
    fn count(&self, wanted: fn(&Status) -> bool) -> usize {
        self.outcomes.iter().filter(|o| wanted(&o.status)).count()
    }

    pub fn applied(&self) -> usize {
        self.count(|s| matches!(s, Status::Applied))
    }

    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed { .. }))
    }

    pub fn skipped(&self) -> usize {
        self.count(|s| matches!(s, Status::Skipped { .. }))
    }

    /// True when every change was applied.
    pub fn is_complete(&self) -> bool {
        self.applied() == self.outcomes.len()
    }
}
