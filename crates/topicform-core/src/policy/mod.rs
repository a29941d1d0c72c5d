//! Policy: rules every topic of a spec must satisfy, written by the platform
//! team once (`policy:` in the spec, or a file several specs share through
//! `--policy FILE`) and checked offline by `validate`, and by `plan`,
//! `apply` and the controller before anything reaches a cluster. Pure.
//!
//! - [`model`]: the rules as written, one optional block per rule id.
//! - [`rules`]: what each rule checks, and where its violations point.
//! - [`waivers`]: a topic's explicit, reasoned exemptions from a rule.
//!
//! A violation is a [`Finding`](crate::spec::Finding) like any other
//! (`file:line:col`, help, error or warning), tagged with the rule id so
//! SARIF and waivers can name it. A waived violation stays visible: it is
//! reported as a warning that names the waiver, on every run.

pub mod model;
mod rules;
mod waivers;

use std::collections::HashMap;
use std::sync::Arc;

pub use model::{Policy, RuleId, Waiver};

use crate::spec::finding::{Finding, Pointer};
use crate::spec::load::{parse_document, Document, ParseFailure};
use crate::spec::model::Spec;
use crate::spec::{Located, SourceText, VarLookup};

/// A policy file that several specs share (`--policy FILE`): its rules and
/// what locates a problem in it.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The file name as the user gave it.
    pub name: String,
    /// The rules.
    pub policy: Policy,
    document: Document,
}

/// Parses a shared policy file: the same document as a spec's `policy:`
/// block, at the top level. Unknown keys and wrong types are errors with
/// their location.
pub fn parse_policy(name: &str, text: &str) -> Result<LoadedPolicy, Box<ParseFailure>> {
    let (policy, document) = parse_document::<Policy>(name, text)?;
    Ok(LoadedPolicy { name: name.to_owned(), policy, document })
}

impl LoadedPolicy {
    /// What is wrong with the rules themselves (a pattern that does not
    /// compile, a minimum above the maximum), located in the file.
    pub fn problems(&self) -> Vec<Located> {
        let mut found: Vec<Located> =
            self.policy.problems(&[]).into_iter().map(|f| self.document.locate_elsewhere(f)).collect();
        found.sort_by_key(|l| l.line_col);
        found
    }

    /// Warnings where a rule's `environments:` names an environment `spec`
    /// does not have (a typo would turn the rule off), located in the file.
    pub fn unknown_environments(&self, spec: &Spec) -> Vec<Located> {
        let mut found: Vec<Located> = self
            .policy
            .unknown_environments(&[], spec)
            .into_iter()
            .map(|f| self.document.locate_elsewhere(f))
            .collect();
        found.sort_by_key(|l| l.line_col);
        found
    }

    /// The file's name and text, for messages.
    pub fn source(&self) -> Arc<SourceText> {
        self.document.text.clone()
    }
}

/// What the rules look at.
pub(crate) struct Subjects<'a> {
    /// The topics (with contributed ones merged in), environments and
    /// services.
    pub spec: &'a Spec,
    /// The spec file as reviewed: the only place a waiver counts (a
    /// service's release cannot waive the platform's rules).
    pub reviewed: &'a Spec,
    /// Consumer groups contributions name for topics they do not define.
    pub more_consumers: &'a HashMap<String, Vec<String>>,
}

/// Every violation of `policy` in the environments `envs` (all when
/// empty), waivers applied as of `today` (`None`: none has expired).
/// Findings point into the spec.
pub(crate) fn violations(
    subjects: &Subjects,
    policy: &Policy,
    envs: &[&str],
    vars: VarLookup,
    today: Option<jiff::civil::Date>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for (env_name, env) in &subjects.spec.environments {
        if envs.is_empty() || envs.contains(&env_name.as_str()) {
            rules::check_environment(subjects, policy, env_name, env, vars, &mut out);
        }
    }
    merge_environments(out).into_iter().map(|v| waivers::apply(subjects.reviewed, v, today)).collect()
}

/// One finding per place and problem: the same value breaking the same
/// rule in several environments (a topic's own partitions, a default) is
/// reported once, naming every environment. Messages carry the
/// [`rules::IN_ENV`] marker where the environment goes, so merging never
/// searches user-written text.
fn merge_environments(violations: Vec<rules::Violation>) -> Vec<rules::Violation> {
    let mut merged: indexmap::IndexMap<(String, Pointer), (rules::Violation, Vec<String>)> = Default::default();
    for mut v in violations {
        let env = std::mem::take(&mut v.env);
        match merged.entry((v.finding.message.clone(), v.finding.at.clone())) {
            indexmap::map::Entry::Occupied(mut seen) => {
                let envs = &mut seen.get_mut().1;
                if !envs.contains(&env) {
                    envs.push(env);
                }
            }
            indexmap::map::Entry::Vacant(new) => {
                new.insert((v, vec![env]));
            }
        }
    }
    merged
        .into_values()
        .map(|(mut v, envs)| {
            let names: Vec<String> = envs.iter().map(|e| format!("`{e}`")).collect();
            let phrase = match names.len() {
                1 => format!("in environment {}", names[0]),
                _ => format!("in environments {}", names.join(", ")),
            };
            v.finding.message = v.finding.message.replace(rules::IN_ENV, &phrase);
            v
        })
        .collect()
}

/// What is wrong with a spec's own `policy:` block and its topics'
/// waivers, whatever environment is checked.
pub(crate) fn spec_problems(spec: &Spec) -> Vec<Finding> {
    let mut out = spec.policy.problems(&["policy"]);
    out.extend(spec.policy.unknown_environments(&["policy"], spec));
    out.extend(waivers::problems(spec));
    out
}

/// A contribution (a service's release) cannot waive a rule: waivers are
/// written in the spec, where the platform's reviewers see them.
pub(crate) fn contributed_waivers(spec: &Spec) -> Vec<Finding> {
    spec.topics
        .iter()
        .filter(|(_, t)| !t.waivers.is_empty())
        .map(|(name, _)| {
            Finding::error(
                Pointer::key(["topics", name.as_str(), "waivers"]),
                format!("topic `{name}` carries waivers, and a contributed topic cannot waive a policy rule"),
            )
            .help("write the waiver on the topic in the central spec (`environments`' spec file), where the platform's reviewers see it")
        })
        .collect()
}

#[cfg(test)]
mod tests;
