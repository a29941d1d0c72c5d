//! The spec: model, loading with locations, validation and resolution of one
//! environment. Pure: no file, network or process access (variables come in
//! through a lookup function; the caller reads the file).

pub mod broker_env;
pub mod client_settings;
pub mod contributed;
pub mod expand;
pub mod finding;
pub mod kafka_configs;
pub mod load;
pub mod lock;
pub mod model;
pub mod ownership;
pub mod resolve;
pub mod tiers;
pub mod validate;
pub mod values;

pub use contributed::{contributed_consumers, parse_contribution, Conflict, Contributed};
pub use finding::{Finding, Pointer, Severity};
pub use load::{parse, LoadedSpec, Located, ParseFailure, SourceText};
pub use model::Spec;
pub use resolve::{DesiredTopic, ResolvedEnvironment};
pub use validate::{is_internal_topic, UnsetVars, VarLookup};

use model::{Cluster, EventHubsCluster, KubernetesSource};

/// Of two overlapping `owns:` entries, the one naming what both own: a
/// name over a prefix, else the longer prefix.
fn narrower<'a>(a: &'a str, b: &'a str) -> &'a str {
    match (a.ends_with('*'), b.ends_with('*')) {
        (false, _) => a,
        (true, false) => b,
        (true, true) if a.len() >= b.len() => a,
        _ => b,
    }
}

impl LoadedSpec {
    /// Validates the spec and the environments in `envs` (all when empty),
    /// every finding located in the file, errors first.
    /// Policy violations included.
    pub fn validate(&self, envs: &[&str], vars: VarLookup, unset: UnsetVars) -> Vec<Located> {
        let mut found: Vec<Located> =
            validate::validate(&self.spec, envs, vars, unset).into_iter().map(|f| self.locate(f)).collect();
        let none = Default::default();
        let subjects = crate::policy::Subjects { spec: &self.spec, reviewed: &self.spec, more_consumers: &none };
        found.extend(self.policy_violations(&subjects, envs, vars).into_iter().map(|f| self.locate(f)));
        for shared in &self.policies {
            found.extend(shared.unknown_environments(&self.spec));
        }
        found.sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity).then(a.line_col.cmp(&b.line_col)));
        found
    }

    /// Checks the spec against shared policy files as well as its own
    /// `policy:`, judging waivers on `today` (the caller knows the clock).
    pub fn with_policies(mut self, policies: Vec<crate::policy::LoadedPolicy>, today: jiff::civil::Date) -> Self {
        self.policies = policies;
        self.today = Some(today);
        self
    }

    /// Violations of the spec's own policy and the shared ones (the same
    /// rule in both reported once).
    fn policy_violations(&self, subjects: &crate::policy::Subjects, envs: &[&str], vars: VarLookup) -> Vec<Finding> {
        let policies = std::iter::once(&self.spec.policy).chain(self.policies.iter().map(|p| &p.policy));
        let mut found: Vec<Finding> =
            policies.flat_map(|p| crate::policy::violations(subjects, p, envs, vars, self.today)).collect();
        let mut seen = std::collections::HashSet::new();
        found.retain(|f| seen.insert((f.rule, f.at.clone(), f.message.clone())));
        found
    }

    /// Errors for each environment of this spec whose ownership scope
    /// overlaps one of `other`'s on the same cluster: both pin the same
    /// `clusterId` (after `${VAR}`; an unset one is not compared). Each
    /// points at this spec's `owns:` (or the environment, without one) and
    /// names the other's place.
    pub fn overlapping_scopes(&self, other: &LoadedSpec, vars: VarLookup) -> Vec<Located> {
        let pinned = |env: &model::Environment| env.cluster_id.as_deref().and_then(|id| expand::expand(id, vars).ok());
        let mut found = Vec::new();
        for (name, env) in &self.spec.environments {
            let Some(cluster) = pinned(env) else { continue };
            for (other_name, other_env) in &other.spec.environments {
                if pinned(other_env).as_deref() != Some(cluster.as_str()) {
                    continue;
                }
                let (mine, theirs) = (ownership::Ownership::new(&env.owns), ownership::Ownership::new(&other_env.owns));
                let Some((a, b)) = mine.overlap(&theirs) else { continue };
                let at = |env_name: &str, env: &model::Environment| {
                    let key = if env.owns.is_empty() { "clusterId" } else { "owns" };
                    Pointer::value(["environments", env_name, key])
                };
                let there = other.locate(Finding::error(at(other_name, other_env), "")).line_col;
                let there = there.map_or(other.name.clone(), |(l, c)| format!("{}:{l}:{c}", other.name));
                let owns = |o: &ownership::Ownership| {
                    if o.is_everything() {
                        "everything (no `owns:`)".to_owned()
                    } else {
                        o.describe()
                    }
                };
                found.push(self.locate(
                    Finding::error(
                        at(name, env),
                        format!(
                            "environment `{name}` and environment `{other_name}` of {} both reconcile cluster `{cluster}`, and both own `{}`",
                            other.name,
                            narrower(&a, &b)
                        ),
                    )
                    .help(format!(
                        "give each spec a scope of its own (`{name}`: {}; `{other_name}`: {}, at {there}): a topic both own could be changed or pruned by either",
                        owns(&mine),
                        owns(&theirs)
                    )),
                ));
            }
        }
        found
    }

    /// Names of the environments, in spec order.
    pub fn environment_names(&self) -> Vec<&str> {
        self.spec.environments.keys().map(String::as_str).collect()
    }

    /// Where environment `env_name` reads contributed topics from, if
    /// anywhere: its `from:`, else the spec's, `${VAR}` expanded (an unset
    /// variable is left as written; [`LoadedSpec::resolve`] names it).
    pub fn kubernetes_source(&self, env_name: &str, vars: VarLookup) -> Option<KubernetesSource> {
        let env = self.spec.environments.get(env_name)?;
        let mut source = env.from.as_ref().or(self.spec.from.as_ref())?.kubernetes.clone();
        for ns in &mut source.namespaces {
            *ns = expand::expand(ns, vars).unwrap_or_else(|_| ns.clone());
        }
        Some(source)
    }

    /// Resolves environment `env` for use against a cluster: validates it
    /// (unset variables are errors), expands `${VAR}` and merges the topics.
    /// On failure returns every located finding (warnings included).
    pub fn resolve(
        &self,
        env_name: &str,
        vars: VarLookup,
    ) -> Result<(ResolvedEnvironment, Vec<Located>), Vec<Located>> {
        self.resolve_with(env_name, vars, &[])
    }

    /// [`resolve`](Self::resolve), with the topics `contributions` declare
    /// merged in (see [`contributed`]): each finding points into the
    /// document that wrote it, and refused declarations come back in
    /// [`ResolvedEnvironment::conflicts`].
    pub fn resolve_with(
        &self,
        env_name: &str,
        vars: VarLookup,
        contributions: &[Contributed],
    ) -> Result<(ResolvedEnvironment, Vec<Located>), Vec<Located>> {
        self.resolve_checked(env_name, vars, contributions, UnsetVars::Fail, Policy::Enforced)
    }

    /// [`resolve`](Self::resolve) for a command that grants nothing (`env`
    /// for the whole environment, `check`, `lag`, `export`): a variable only
    /// the services' principals use may be unset, and is then a warning.
    /// The services' principals are not to be used.
    pub fn resolve_without_access(
        &self,
        env_name: &str,
        vars: VarLookup,
    ) -> Result<(ResolvedEnvironment, Vec<Located>), Vec<Located>> {
        self.resolve_without_access_with(env_name, vars, &[])
    }

    /// [`resolve_without_access`](Self::resolve_without_access) with the
    /// topics `contributions` declare merged in (`lag` of a spec that reads
    /// topics from Kubernetes).
    pub fn resolve_without_access_with(
        &self,
        env_name: &str,
        vars: VarLookup,
        contributions: &[Contributed],
    ) -> Result<(ResolvedEnvironment, Vec<Located>), Vec<Located>> {
        self.resolve_checked(env_name, vars, contributions, UnsetVars::FailExceptPrincipals, Policy::NotChecked)
    }

    fn resolve_checked(
        &self,
        env_name: &str,
        vars: VarLookup,
        contributions: &[Contributed],
        unset: UnsetVars,
        policy: Policy,
    ) -> Result<(ResolvedEnvironment, Vec<Located>), Vec<Located>> {
        let merged = contributed::merge(&self.spec, contributions);
        let locate = |finding: Finding| match topic_of(&finding).and_then(|t| merged.defined_by.get(t)) {
            Some(i) => contributions[*i].document.locate_elsewhere(finding),
            None => self.locate(finding),
        };
        let mut findings: Vec<Located> =
            validate::validate(&merged.spec, &[env_name], vars, unset).into_iter().map(locate).collect();
        if policy == Policy::Enforced {
            let subjects = crate::policy::Subjects {
                spec: &merged.spec,
                reviewed: &self.spec,
                more_consumers: &merged.more_consumers,
            };
            findings.extend(self.policy_violations(&subjects, &[env_name], vars).into_iter().map(locate));
        }
        for c in contributions {
            // Its own names, consumers and written values, wherever the
            // merge put its topics.
            let own = Spec {
                version: 1,
                defaults: Default::default(),
                environments: Default::default(),
                topics: c.contribution.topics.clone(),
                from: None,
                services: Default::default(),
                policy: Default::default(),
            };
            findings.extend(
                validate::validate(&own, &[], vars, UnsetVars::Fail)
                    .into_iter()
                    .chain(crate::policy::contributed_waivers(&own))
                    .map(|f| c.document.locate_elsewhere(f)),
            );
        }
        let findings = sort_located(findings);
        if findings.iter().any(|l| l.finding.is_error()) {
            return Err(findings);
        }
        let env = &self.spec.environments[env_name];
        let mut cluster = env.cluster.clone();
        let unset = expand::expand_cluster(&mut cluster, vars);
        debug_assert!(unset.is_empty(), "validation fails on unset variables first: {unset:?}");
        let cluster_id = env.cluster_id.as_deref().map(|id| expand::expand(id, vars).unwrap_or_else(|_| id.to_owned()));
        // Validation refused a lock that does not parse.
        let lock = env.lock.as_deref().and_then(|l| l.parse().ok());
        let service_managed = matches!(cluster, Cluster::Eventhubs(_));
        let mut topics = Vec::with_capacity(merged.spec.topics.len());
        for name in merged.spec.topics.keys() {
            let eff = resolve::effective(&merged.spec, env_name, env, name, vars);
            match resolve::desired_topic(name, &eff, service_managed) {
                Ok(t) => topics.push(DesiredTopic { owner: merged.owners.get(name).cloned(), ..t }),
                Err(why) => return Err(vec![locate(Finding::error(Pointer::key(["topics", name.as_str()]), why))]),
            }
        }
        let environment = ResolvedEnvironment {
            name: env_name.to_owned(),
            cluster,
            prune: env.prune,
            prune_acls: env.prune_acls,
            owns: ownership::Ownership::new(&env.owns),
            cluster_id,
            lock,
            topics,
            conflicts: merged.conflicts,
            former_owners: Default::default(),
            services: resolve::services(&self.spec, env_name, vars),
        };
        Ok((environment, findings))
    }
}

/// Whether resolving checks the policy: it guards what is about to change
/// a cluster (plan, apply, the controller); `env`, `check`, `lag` and
/// `export` change nothing and are not held up by a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Enforced,
    NotChecked,
}

/// The topic a finding is about, when it points under `topics.NAME`.
fn topic_of(finding: &Finding) -> Option<&str> {
    match finding.at.path.as_slice() {
        [finding::Seg::Key(topics), finding::Seg::Key(name), ..] if topics == "topics" => Some(name),
        _ => None,
    }
}

/// Errors first; then the spec file's findings by line, then each other
/// document's; each finding once (a value two documents' checks both
/// reach).
fn sort_located(mut found: Vec<Located>) -> Vec<Located> {
    let key =
        |l: &Located| (std::cmp::Reverse(l.finding.severity), l.elsewhere.as_ref().map(|d| d.name.clone()), l.line_col);
    found.sort_by_key(key);
    found.dedup_by(|a, b| key(a) == key(b) && a.finding.message == b.finding.message);
    found
}

impl EventHubsCluster {
    /// The Kafka bootstrap: the override, else `<namespace>.servicebus.windows.net:9093`.
    pub fn kafka_bootstrap(&self) -> Vec<String> {
        self.bootstrap_servers
            .clone()
            .unwrap_or_else(|| vec![format!("{}.servicebus.windows.net:9093", self.namespace)])
    }
}

#[cfg(test)]
mod tests;
