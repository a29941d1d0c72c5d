//! Waivers: a topic's written exemption from one rule (`topics.NAME.waivers`),
//! with a reason and optionally a last day. A waived violation is not
//! dropped: it becomes a warning that names the waiver and its reason, so
//! every run (and SARIF, as a suppression) keeps the exemption visible. An
//! expired waiver covers nothing, and the help says since when.

use super::rules::Violation;
use crate::spec::finding::{Finding, Pointer, Seg, Severity, Waived};
use crate::spec::model::Spec;

/// The finding for `violation`, with the topic's waiver in `reviewed` (the
/// spec file) applied if it has one for the rule that holds on `today`
/// (`None`: none has expired).
pub(super) fn apply(reviewed: &Spec, violation: Violation, today: Option<jiff::civil::Date>) -> Finding {
    let Violation { topic, mut finding, .. } = violation;
    let (Some(topic), Some(rule)) = (topic, finding.rule) else { return finding };
    let Some(waivers) = reviewed.topics.get(&topic).map(|t| &t.waivers) else { return finding };
    let Some((i, waiver)) = waivers.iter().enumerate().find(|(_, w)| w.rule == rule) else { return finding };
    let at = {
        let mut at = Pointer::value(["topics", topic.as_str(), "waivers"]);
        at.path.push(Seg::Index(i));
        at
    };
    let expired = match (today, waiver.expires.as_deref().and_then(|d| d.parse::<jiff::civil::Date>().ok())) {
        (Some(today), Some(last)) => today > last,
        _ => false,
    };
    if expired {
        let note = format!(
            "the waiver at `topics.{topic}.waivers[{i}]` expired on {}",
            waiver.expires.as_deref().unwrap_or_default()
        );
        finding.help = Some(match finding.help.take() {
            Some(help) => format!("{note}; {help}"),
            None => note,
        });
        return finding;
    }
    let until = waiver.expires.as_deref().map(|d| format!(" until {d}")).unwrap_or_default();
    finding.help = Some(format!("waived{until} by `topics.{topic}.waivers[{i}]`: {}", waiver.reason));
    finding.message = format!("waived: {}", finding.message);
    finding.waived =
        Some(Waived { severity: finding.severity, reason: waiver.reason.clone(), expires: waiver.expires.clone(), at });
    finding.severity = Severity::Warning;
    finding
}

/// Waivers that are malformed: an empty reason, a date that is not a day,
/// the same rule twice on one topic.
pub(crate) fn problems(spec: &Spec) -> Vec<Finding> {
    let mut out = Vec::new();
    for (topic, t) in &spec.topics {
        for (i, waiver) in t.waivers.iter().enumerate() {
            let at = |key: &str| {
                let mut at = Pointer::value(["topics", topic.as_str(), "waivers"]);
                at.path.extend([Seg::Index(i), Seg::Key(key.to_owned())]);
                at
            };
            if waiver.reason.trim().is_empty() {
                out.push(
                    Finding::error(at("reason"), "a waiver needs a reason")
                        .help("say why the rule does not fit this topic, and who agreed"),
                );
            }
            if let Some(date) = &waiver.expires {
                if let Err(e) = date.parse::<jiff::civil::Date>() {
                    out.push(
                        Finding::error(at("expires"), format!("`{date}` is not a day"))
                            .help(format!("write it as YYYY-MM-DD ({e})")),
                    );
                }
            }
            if t.waivers[..i].iter().any(|w| w.rule == waiver.rule) {
                out.push(Finding::error(
                    at("rule"),
                    format!("topic `{topic}` waives `{}` twice; keep one waiver per rule", waiver.rule),
                ));
            }
        }
    }
    out
}
