//! `check` reports as text: one line per step, cause and fix under a failure.

use std::fmt::Write;

use owo_colors::OwoColorize;

use crate::check::{Report, Status};

/// The report as text; `color` adds ANSI colours.
pub fn check_text(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let sasl = report.sasl_mechanism.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    let _ =
        writeln!(out, "Checking {} ({}, {}{sasl})", report.target, report.brokers.join(","), report.security_protocol);
    for s in &report.steps {
        let mark = match (s.status, color) {
            (Status::Ok, true) => s.status.mark().green().to_string(),
            (Status::Failed, true) => s.status.mark().red().bold().to_string(),
            (_, _) => s.status.mark().to_owned(),
        };
        let _ = writeln!(out, "  {mark} {:<10} {}", s.name, s.detail);
        if let Some(cause) = &s.cause {
            let _ = writeln!(out, "      cause: {cause}");
        }
        if let Some(fix) = &s.fix {
            let _ = writeln!(out, "      fix:   {fix}");
        }
    }
    let _ = writeln!(
        out,
        "{}",
        if report.passed() {
            "OK: a service with this configuration can connect."
        } else {
            "FAILED: see the step marked ✗."
        }
    );
    out
}
