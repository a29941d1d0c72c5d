//! Plans as Markdown, for pull-request comments.

use std::fmt::Write;

use topicform_core::plan::{Action, Change, Plan, SpecWarning};
use topicform_core::spec::values;

/// The plan as GitHub-flavoured Markdown.
pub(crate) fn plan_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let status = if plan.has_refusals() {
        "❌ refused changes"
    } else if plan.has_changes() {
        "📝 changes pending"
    } else {
        "✅ in sync"
    };
    let _ = writeln!(out, "### topicform plan: `{}` — {status}\n", plan.environment);
    let s = &plan.summary;
    let _ = writeln!(out, "| create | update | delete | unchanged | refused | unmanaged |");
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |\n",
        s.create, s.update, s.delete, s.unchanged, s.refused, s.unmanaged
    );
    let changing: Vec<_> = plan.topics.iter().filter(|t| t.action != Action::Unchanged).collect();
    if !changing.is_empty() {
        let _ = writeln!(out, "| | topic | change | cluster (current) | spec (new) |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for t in changing {
            let sign = match t.action {
                Action::Create => "➕",
                Action::Update => "✏️",
                Action::Delete => "🗑️",
                Action::Refused => "⛔",
                Action::Unchanged => "",
            };
            if t.action == Action::Refused {
                for r in &t.reasons {
                    let _ = writeln!(
                        out,
                        "| {sign} | `{}`{} | refused | | {} |",
                        t.topic,
                        escape(&super::owner_suffix(t)),
                        escape(r)
                    );
                }
                continue;
            }
            for c in &t.changes {
                let (what, cur, new) = match c {
                    Change::CreateTopic { partitions, replication_factor, config } => {
                        let mut new = format!("{partitions} partitions");
                        match replication_factor {
                            Some(rf) => {
                                let _ = write!(new, ", RF {rf}");
                            }
                            None => new.push_str(", replication managed by the service"),
                        }
                        for (k, v) in config {
                            let _ = write!(new, "<br>`{k}` = {}", values::display(k, v));
                        }
                        ("create".to_owned(), String::new(), new)
                    }
                    Change::AddPartitions { from, to } => ("partitions".into(), from.to_string(), to.to_string()),
                    Change::SetConfig { key, current, desired } => (
                        format!("`{key}`"),
                        current.as_deref().map(|v| values::display(key, v)).unwrap_or_default(),
                        values::display(key, desired),
                    ),
                    Change::DeleteConfig { key, current } => {
                        (format!("`{key}`"), values::display(key, current), "(broker default)".into())
                    }
                    Change::DeleteTopic => ("delete topic".into(), String::new(), String::new()),
                };
                let _ = writeln!(
                    out,
                    "| {sign} | `{}`{} | {what} | {} | {} |",
                    t.topic,
                    escape(&super::owner_suffix(t)),
                    escape(&cur),
                    escape(&new)
                );
            }
        }
        let _ = writeln!(out);
    }
    let drift: Vec<String> = plan
        .topics
        .iter()
        .flat_map(|t| t.drift.iter().map(move |d| format!("`{}`: `{}={}`", t.topic, d.key, d.value)))
        .collect();
    if !drift.is_empty() {
        let _ = writeln!(out, "<details><summary>Drift left in place ({})</summary>\n", drift.len());
        for d in drift {
            let _ = writeln!(out, "- {d}");
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    for (title, topics) in
        [("Unmanaged topics", &plan.unmanaged), ("Foreign topics (another team's, never changed)", &plan.foreign)]
    {
        if topics.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<details><summary>{title} ({})</summary>\n", topics.len());
        for u in topics {
            let _ = writeln!(out, "- `{u}`");
        }
        let _ = writeln!(out, "\n</details>\n");
    }
    if let Some(access) = &plan.access {
        let changing: Vec<_> = access.grants.iter().filter(|a| a.action != Action::Unchanged).collect();
        let (a, label) = (&access.summary, super::grants_label(plan));
        let _ = writeln!(
            out,
            "**{}{}:** {} to create, {} to delete, {} unchanged, {} unmanaged\n",
            label[..1].to_uppercase(),
            &label[1..],
            a.create,
            a.delete,
            a.unchanged,
            a.unmanaged
        );
        for g in changing {
            let sign = if g.action == Action::Delete { "🗑️" } else { "➕" };
            let _ = writeln!(out, "- {sign} `{}`{}", g.grant, escape(&super::grant_service_suffix(g)));
        }
        if !access.unmanaged.is_empty() {
            let _ = writeln!(out, "\n<details><summary>Unmanaged {label} ({})</summary>\n", access.unmanaged.len());
            for u in &access.unmanaged {
                let _ = writeln!(out, "- `{}` ({})", u.grant, super::unmanaged_reason(u.why));
            }
            let _ = writeln!(out, "\n</details>");
        }
        let _ = writeln!(out);
    }
    spec_warnings(&mut out, plan);
    for (topic, owner) in &plan.orphaned {
        let _ = writeln!(out, "> orphaned: `{topic}`: {owner} contributed it and no longer declares it\n");
    }
    for c in &plan.conflicts {
        let _ = writeln!(out, "> ⛔ ResourceConflict: {}\n", escape(&c.describe()));
    }
    for note in &plan.notes {
        let _ = writeln!(out, "> {note}\n");
    }
    out
}

/// The spec's warnings in view, and the violations waivers cover folded
/// away (on record for the reviewer who wants to audit them).
fn spec_warnings(out: &mut String, plan: &Plan) {
    let (waived, warnings): (Vec<_>, Vec<_>) = plan.warnings.iter().partition(|w| w.waived.is_some());
    let rule = |w: &SpecWarning| w.rule.as_ref().map(|r| format!(" (`{r}`)")).unwrap_or_default();
    if !warnings.is_empty() {
        let _ = writeln!(out, "**Spec warnings ({}):**\n", warnings.len());
        for w in warnings {
            let _ = writeln!(out, "- ⚠️ `{}`{}: {}", w.at, rule(w), one_line(&w.message));
        }
        let _ = writeln!(out);
    }
    if !waived.is_empty() {
        let _ = writeln!(out, "<details><summary>Waived policy violations ({})</summary>\n", waived.len());
        for w in waived {
            let reason = w.waived.as_deref().unwrap_or_default();
            let _ = writeln!(out, "- `{}`{}: {} — reason: {}", w.at, rule(w), one_line(&w.message), prose(reason));
        }
        let _ = writeln!(out, "\n</details>\n");
    }
}

/// Keeps a text on its list item's line. Outside a table the messages'
/// code spans (topic names, keys) stay code.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// A person's free text (a waiver's reason) on its list item's line, with
/// no HTML: a `</details>` in it would otherwise end the fold it is in.
fn prose(s: &str) -> String {
    one_line(&s.replace('&', "&amp;").replace('<', "&lt;"))
}

/// Keeps a value inside its table cell: pipes escaped, newlines as `<br>`,
/// backticks as HTML so they cannot open a code span.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>").replace('`', "&#96;")
}
