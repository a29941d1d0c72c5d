//! Presentation: plans as text, JSON and Markdown; specs as YAML; validation
//! findings as SARIF. Pure
//! functions from data to strings, so every format is snapshot-tested.

mod check;
mod client;
mod env;
mod markdown;
mod sarif;
mod text;
mod yaml;

pub use check::check_text;
pub use client::{client_settings_file, client_settings_helm_values};
pub use env::{render_env, EnvFormat, Revealed};
pub(crate) use markdown::plan_markdown;
pub use sarif::validation_sarif;
pub use text::{apply_report_text, plan_text};
pub use yaml::to_yaml;

use topicform_core::plan::Plan;

/// Output formats of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    /// Coloured (on a TTY) text for people.
    Text,
    /// Stable JSON with `formatVersion`.
    Json,
    /// Markdown for pull-request comments.
    Markdown,
}

/// Renders `plan` in `format`; `color` applies to text only.
pub fn render_plan(plan: &Plan, format: PlanFormat, color: bool) -> String {
    match format {
        PlanFormat::Text => plan_text(plan, color),
        PlanFormat::Json => plan_json(plan),
        PlanFormat::Markdown => plan_markdown(plan),
    }
}

/// The plan as pretty JSON (the format `plan --out` writes and `apply
/// --plan` reads).
pub fn plan_json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).expect("plans serialise");
    s.push('\n');
    s
}

/// Summary line shared by text and Markdown.
pub(crate) fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut conflicts = if s.conflicts > 0 { format!(", {} conflict(s)", s.conflicts) } else { String::new() };
    if s.foreign > 0 {
        conflicts.push_str(&format!(", {} foreign", s.foreign));
    }
    let acls = plan.access.as_ref().map_or_else(String::new, |a| {
        let a = &a.summary;
        format!(
            "; {}: {} to create, {} to delete, {} unchanged, {} unmanaged",
            grants_label(plan),
            a.create,
            a.delete,
            a.unchanged,
            a.unmanaged
        )
    });
    format!(
        "{} to create, {} to update, {} to delete, {} unchanged, {} refused, {} unmanaged{conflicts}{acls}",
        s.create, s.update, s.delete, s.unchanged, s.refused, s.unmanaged
    )
}

/// What the plan's grants are on its cluster type, plural.
pub(crate) fn grants_label(plan: &Plan) -> String {
    format!("{}s", topicform_core::access::grant_kind(&plan.cluster_type))
}

/// Why a grant is left alone, in a few words.
pub(crate) fn unmanaged_reason(why: topicform_core::plan::Unmanaged) -> &'static str {
    use topicform_core::plan::Unmanaged;
    match why {
        Unmanaged::OtherPrincipal => "no service's principal; never changed",
        Unmanaged::Deny => "a DENY; never removed",
        Unmanaged::OtherRole => "not a Data Sender or Receiver role; never changed",
        Unmanaged::NotOnHub => "not on one event hub; never changed",
        Unmanaged::Conditional => "narrowed by a condition; never changed",
        Unmanaged::NotInSpec => "not in the spec; pruneAcls: true and --allow-delete delete it",
    }
}

/// `(for SERVICE)` after a planned grant, when a service asks for it.
pub(crate) fn grant_service_suffix(a: &topicform_core::plan::GrantPlan) -> String {
    a.service.as_deref().map(|s| format!(" (for {s})")).unwrap_or_default()
}

/// ` (from ConfigMap NS/NAME)` for a contributed topic, else nothing.
pub(crate) fn owner_suffix(t: &topicform_core::plan::TopicPlan) -> String {
    t.owner.as_deref().map(|o| format!(" (from {o})")).unwrap_or_default()
}
