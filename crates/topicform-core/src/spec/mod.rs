//! The spec: model, loading with locations, validation and resolution of one
//! environment. Pure: no file, network or process access (variables come in
//! through a lookup function; the caller reads the file).

pub mod broker_env;
pub mod expand;
pub mod finding;
pub mod kafka_configs;
pub mod load;
pub mod lock;
pub mod model;
pub mod resolve;
pub mod tiers;
pub mod validate;
pub mod values;

pub use finding::{Finding, Pointer, Severity};
pub use load::{parse, LoadedSpec, Located, ParseFailure};
pub use model::Spec;
pub use resolve::{DesiredTopic, ResolvedEnvironment};
pub use validate::{is_internal_topic, UnsetVars, VarLookup};

use model::{Cluster, EventHubsCluster};

impl LoadedSpec {
    /// Validates the spec and the environments in `envs` (all when empty),
    /// every finding located in the file, errors first.
    pub fn validate(&self, envs: &[&str], vars: VarLookup, unset: UnsetVars) -> Vec<Located> {
        let mut found: Vec<Located> =
            validate::validate(&self.spec, envs, vars, unset).into_iter().map(|f| self.locate(f)).collect();
        found.sort_by(|a, b| b.finding.severity.cmp(&a.finding.severity).then(a.line_col.cmp(&b.line_col)));
        found
    }

    /// Names of the environments, in spec order.
    pub fn environment_names(&self) -> Vec<&str> {
        self.spec.environments.keys().map(String::as_str).collect()
    }

    /// Resolves environment `env` for use against a cluster: validates it
    /// (unset variables are errors), expands `${VAR}` and merges the topics.
    /// On failure returns every located finding (warnings included).
    pub fn resolve(
        &self,
        env_name: &str,
        vars: VarLookup,
    ) -> Result<(ResolvedEnvironment, Vec<Located>), Vec<Located>> {
        let findings = self.validate(&[env_name], vars, UnsetVars::Fail);
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
        let mut topics = Vec::with_capacity(self.spec.topics.len());
        for name in self.spec.topics.keys() {
            let eff = resolve::effective(&self.spec, env_name, env, name, vars);
            match resolve::desired_topic(name, &eff, service_managed) {
                Ok(t) => topics.push(t),
                Err(why) => {
                    return Err(vec![self.locate(Finding::error(Pointer::key(["topics", name.as_str()]), why))])
                }
            }
        }
        Ok((
            ResolvedEnvironment { name: env_name.to_owned(), cluster, prune: env.prune, cluster_id, lock, topics },
            findings,
        ))
    }
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
