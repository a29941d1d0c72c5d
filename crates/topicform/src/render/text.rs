//! Human-readable plans: `+ create`, `~ update`, `- delete`, `! refused`,
//! with a Key | Cluster (current) | Spec (new) table for updates.

use std::fmt::Write;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use owo_colors::OwoColorize;

use crate::apply::{ApplyReport, Status};
use topicform_core::plan::{AccessPlan, Action, Change, Plan, TopicPlan};
use topicform_core::spec::values;

struct Paint {
    color: bool,
}

impl Paint {
    fn green(&self, s: &str) -> String {
        if self.color {
            s.green().to_string()
        } else {
            s.to_owned()
        }
    }
    fn yellow(&self, s: &str) -> String {
        if self.color {
            s.yellow().to_string()
        } else {
            s.to_owned()
        }
    }
    fn red(&self, s: &str) -> String {
        if self.color {
            s.red().bold().to_string()
        } else {
            s.to_owned()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.color {
            s.dimmed().to_string()
        } else {
            s.to_owned()
        }
    }
    fn bold(&self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_owned()
        }
    }
}

/// The plan as text; `color` adds ANSI colours.
pub fn plan_text(plan: &Plan, color: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    let cluster = plan.cluster_id.as_deref().map(|id| format!(", cluster {id}")).unwrap_or_default();
    let _ =
        writeln!(out, "{}", p.bold(&format!("Environment `{}` ({}{cluster})", plan.environment, plan.cluster_type)));
    let _ = writeln!(out);
    for t in &plan.topics {
        match t.action {
            Action::Create => write_create(&mut out, &p, t),
            Action::Update => write_update(&mut out, &p, t),
            Action::Delete => {
                let _ = writeln!(out, "{} {}", p.red("- delete "), t.topic);
            }
            Action::Refused => write_refused(&mut out, &p, t),
            Action::Unchanged => {}
        }
        for w in &t.warnings {
            let _ = writeln!(out, "    {} {w}", p.yellow("warning:"));
        }
        if !t.drift.is_empty() {
            let keys: Vec<String> =
                t.drift.iter().map(|d| format!("{}={}", d.key, values::display(&d.key, &d.value))).collect();
            let _ = writeln!(
                out,
                "  {} {}: {} {}",
                p.yellow("~ drift  "),
                t.topic,
                keys.join(", "),
                p.dim("(set on the cluster, not in the spec; kept, --prune-config removes)")
            );
        }
    }
    if let Some(access) = &plan.access {
        write_access(&mut out, &p, access);
    }
    for c in &plan.conflicts {
        let _ = writeln!(out, "{} {} (ResourceConflict)", p.red("! conflict"), c.topic);
        let _ = writeln!(out, "    {}", c.describe());
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "  {} {}", p.dim("unmanaged:"), plan.unmanaged.join(", "));
    }
    if !plan.foreign.is_empty() {
        let _ = writeln!(out, "  {} {}", p.dim("foreign (another team's, never changed):"), plan.foreign.join(", "));
    }
    for (topic, owner) in &plan.orphaned {
        let _ = writeln!(
            out,
            "  {} {topic} {}",
            p.yellow("orphaned:"),
            p.dim(&format!(
                "({owner} contributed it and no longer declares it; deleted only with prune: true and --allow-delete)"
            ))
        );
    }
    for note in &plan.notes {
        let _ = writeln!(out, "  {} {note}", p.dim("note:"));
    }
    if plan.topics.iter().any(|t| t.action != Action::Unchanged)
        || !plan.unmanaged.is_empty()
        || !plan.notes.is_empty()
        || !plan.conflicts.is_empty()
        || plan.access.as_ref().is_some_and(|a| a.has_changes() || !a.unmanaged.is_empty())
    {
        let _ = writeln!(out);
    }
    let verdict = if plan.has_refusals() {
        p.red("Refused:")
    } else if plan.has_changes() {
        p.bold("Plan:")
    } else {
        p.green("In sync:")
    };
    let _ = writeln!(out, "{verdict} {}.", super::summary_line(plan));
    out
}

/// The services' grants (ACLs or role assignments): created, deleted,
/// and those left alone with why.
fn write_access(out: &mut String, p: &Paint, access: &AccessPlan) {
    for a in &access.grants {
        let sign = match a.action {
            Action::Create => p.green(&format!("+ create {}", a.grant.kind())),
            Action::Delete => p.red(&format!("- delete {}", a.grant.kind())),
            _ => continue,
        };
        let _ = writeln!(out, "{sign} {}{}", a.grant, p.dim(&super::grant_service_suffix(a)));
    }
    for u in &access.unmanaged {
        let _ = writeln!(
            out,
            "  {} {} {}",
            p.dim(&format!("unmanaged {}:", u.grant.kind())),
            u.grant,
            p.dim(&format!("({})", super::unmanaged_reason(u.why)))
        );
    }
}

fn write_create(out: &mut String, p: &Paint, t: &TopicPlan) {
    for c in &t.changes {
        if let Change::CreateTopic { partitions, replication_factor, config } = c {
            // No replication factor: the service replicates (Event Hubs).
            let rf = replication_factor.map_or_else(
                || ", replication managed by the service".to_owned(),
                |r| format!(", replication factor {r}"),
            );
            let from = p.dim(&super::owner_suffix(t));
            let _ = writeln!(out, "{} {} ({partitions} partitions{rf}){from}", p.green("+ create "), t.topic);
            for (k, v) in config {
                let _ = writeln!(out, "      {k} = {}", values::display(k, v));
            }
        }
    }
}

fn write_update(out: &mut String, p: &Paint, t: &TopicPlan) {
    let _ = writeln!(out, "{} {}{}", p.yellow("~ update "), t.topic, p.dim(&super::owner_suffix(t)));
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled).set_header(vec![
        "key",
        "cluster (current)",
        "spec (new)",
    ]);
    for c in &t.changes {
        match c {
            Change::AddPartitions { from, to } => {
                table.add_row(vec!["partitions".to_owned(), from.to_string(), to.to_string()]);
            }
            Change::SetConfig { key, current, desired } => {
                let cur =
                    current.as_deref().map(|v| values::display(key, v)).unwrap_or_else(|| "(not reported)".into());
                table.add_row(vec![key.clone(), cur, values::display(key, desired)]);
            }
            Change::DeleteConfig { key, current } => {
                table.add_row(vec![key.clone(), values::display(key, current), "(broker default)".into()]);
            }
            Change::CreateTopic { .. } | Change::DeleteTopic => {}
        }
    }
    for line in table.to_string().lines() {
        let _ = writeln!(out, "    {line}");
    }
}

fn write_refused(out: &mut String, p: &Paint, t: &TopicPlan) {
    let _ = writeln!(out, "{} {}{}", p.red("! refused"), t.topic, p.dim(&super::owner_suffix(t)));
    for r in &t.reasons {
        let _ = writeln!(out, "    {r}");
    }
}

/// What apply did, one line per change, failures with the cluster's message.
pub fn apply_report_text(report: &ApplyReport, color: bool) -> String {
    let p = Paint { color };
    let mut out = String::new();
    for o in &report.outcomes {
        let _ = match &o.status {
            Status::Applied => writeln!(out, "{} {}: {}", p.green("✓"), o.topic, o.change),
            Status::Failed { error } => writeln!(out, "{} {}: {} failed: {error}", p.red("✗"), o.topic, o.change),
            Status::Skipped { reason } => {
                writeln!(out, "{} {}: {} skipped: {reason}", p.yellow("-"), o.topic, o.change)
            }
        };
    }
    if let Some(signal) = &report.interrupted {
        let _ = writeln!(out, "{} Interrupted by {signal}: changes not sent are marked skipped.", p.yellow("!"));
    }
    let _ = writeln!(
        out,
        "Apply: {} succeeded, {} failed, {} skipped.",
        report.applied(),
        report.failed(),
        report.skipped()
    );
    out
}
