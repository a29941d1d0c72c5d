//! `${VAR}` and `${VAR:-default}` expansion in non-secret strings.
//! `$${` writes a literal `${`. The variable lookup is passed in, so this
//! stays pure and testable.

use super::model::{
    AzureManagement, Cluster, EventHubsCluster, EventHubsKafka, KafkaCluster, OAuthBearer, Sasl, SecretRef, Tls,
};

/// Expands every `${...}` in `text`. Returns the names of unset variables
/// (without a default) as the error, all of them at once.
pub(crate) fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(text.len());
    let mut unset = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(stripped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = stripped;
            continue;
        }
        let Some(body_and_rest) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body_and_rest.find('}') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let body = &body_and_rest[..end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        match (lookup(name).filter(|v| !v.is_empty()), default) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(d)) => out.push_str(d),
            (None, None) => unset.push(name.to_owned()),
        }
        rest = &body_and_rest[end + 1..];
    }
    out.push_str(rest);
    if unset.is_empty() {
        Ok(out)
    } else {
        Err(unset)
    }
}

/// `text` as it reads whatever the variables are, or `None` when it refers
/// to one. `$${X}` (a literal `${X}`) and an unterminated `${X` refer to
/// none, so they can be checked where they are written.
pub(crate) fn without_variables(text: &str) -> Option<String> {
    let refers = std::cell::Cell::new(false);
    let expanded = expand(text, &|_| {
        refers.set(true);
        None
    });
    if refers.get() {
        None
    } else {
        expanded.ok()
    }
}

/// A `${VAR}` with neither a value nor a default, and the path (under
/// `cluster:`) of the string that refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnsetVar {
    /// Keys from the cluster block down to the string, e.g. `sasl.oauth.scope`.
    pub path: Vec<String>,
    /// The variable's name.
    pub name: String,
}

/// Expands `${VAR}` in place in every string [`cluster_strings_mut`] visits.
/// A string with an unset variable keeps its text; each unset variable is
/// returned with its string's path. Validation reports that list and
/// resolution uses the expanded block, so what is expanded is what is checked.
pub(crate) fn expand_cluster(cluster: &mut Cluster, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<UnsetVar> {
    let mut unset = Vec::new();
    for (path, text) in cluster_strings_mut(cluster) {
        match expand(text, lookup) {
            Ok(expanded) => *text = expanded,
            Err(names) => unset.extend(names.into_iter().map(|name| UnsetVar { path: path.clone(), name })),
        }
    }
    unset
}

/// Every string of a cluster block, with its path under `cluster:`: the one
/// list `${VAR}` expansion and the unset-variable check share. Secret
/// references count too (their variable name or file path, never a secret),
/// as do `clientConfig` values. List fields point at the list, as other
/// findings about them do.
///
/// Each struct is taken apart without `..`, so a field added to the model
/// does not compile until it is listed here or named as holding no string.
pub(crate) fn cluster_strings_mut(cluster: &mut Cluster) -> Vec<(Vec<String>, &mut String)> {
    let mut out = Strings(Vec::new());
    match cluster {
        Cluster::Kafka(KafkaCluster { bootstrap_servers, tls, sasl, client_config }) => {
            out.list(&["bootstrapServers"], bootstrap_servers.iter_mut());
            out.tls(tls);
            if let Some(Sasl { mechanism: _, username, password, oauth }) = sasl {
                out.secret(&["sasl", "username"], username);
                out.secret(&["sasl", "password"], password);
                if let Some(OAuthBearer {
                    token_endpoint,
                    credential: _,
                    scope,
                    client_id,
                    client_secret,
                    tenant_id,
                    authority_host,
                }) = oauth
                {
                    out.opt(&["sasl", "oauth", "tokenEndpoint"], token_endpoint);
                    out.opt(&["sasl", "oauth", "scope"], scope);
                    out.opt(&["sasl", "oauth", "clientId"], client_id);
                    out.secret(&["sasl", "oauth", "clientSecret"], client_secret);
                    out.opt(&["sasl", "oauth", "tenantId"], tenant_id);
                    out.opt(&["sasl", "oauth", "authorityHost"], authority_host);
                }
            }
            for (key, value) in client_config.iter_mut() {
                out.0.push((vec!["clientConfig".to_owned(), key.clone()], &mut value.0));
            }
        }
        Cluster::Eventhubs(EventHubsCluster {
            namespace,
            tier: _,
            capacity: _,
            subscription_id,
            resource_group,
            management,
            kafka,
            arm_endpoint,
            authority_host,
            bootstrap_servers,
            tls,
        }) => {
            out.one(&["namespace"], namespace);
            out.one(&["subscriptionId"], subscription_id);
            out.one(&["resourceGroup"], resource_group);
            if let Some(AzureManagement { credential: _, tenant_id, client_id, client_secret }) = management {
                out.opt(&["management", "tenantId"], tenant_id);
                out.opt(&["management", "clientId"], client_id);
                out.secret(&["management", "clientSecret"], client_secret);
            }
            if let Some(EventHubsKafka { mechanism: _, credential: _, connection_string }) = kafka {
                out.secret(&["kafka", "connectionString"], connection_string);
            }
            out.opt(&["armEndpoint"], arm_endpoint);
            out.opt(&["authorityHost"], authority_host);
            out.list(&["bootstrapServers"], bootstrap_servers.iter_mut().flatten());
            out.tls(tls);
        }
    }
    out.0
}

/// The strings [`cluster_strings_mut`] collects.
struct Strings<'a>(Vec<(Vec<String>, &'a mut String)>);

impl<'a> Strings<'a> {
    fn one(&mut self, path: &[&str], text: &'a mut String) {
        self.0.push((path.iter().map(|s| (*s).to_owned()).collect(), text));
    }

    fn opt(&mut self, path: &[&str], text: &'a mut Option<String>) {
        if let Some(text) = text {
            self.one(path, text);
        }
    }

    fn list(&mut self, path: &[&str], items: impl Iterator<Item = &'a mut String>) {
        for text in items {
            self.one(path, text);
        }
    }

    /// A secret reference's variable name (`.env`) or file path (`.file`).
    fn secret(&mut self, path: &[&str], secret: &'a mut Option<SecretRef>) {
        let (kind, text) = match secret {
            Some(SecretRef::Env(name)) => ("env", name),
            Some(SecretRef::File(file)) => ("file", file),
            None => return,
        };
        self.one(&[path, &[kind]].concat(), text);
    }

    fn tls(&mut self, tls: &'a mut Option<Tls>) {
        if let Some(Tls { ca_file, cert_file, key }) = tls {
            self.opt(&["tls", "caFile"], ca_file);
            self.opt(&["tls", "certFile"], cert_file);
            self.secret(&["tls", "key"], key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SUB" => Some("1234".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_set_variables_and_defaults() {
        assert_eq!(expand("sub-${SUB}", &env), Ok("sub-1234".into()));
        assert_eq!(expand("${NOPE:-fallback}", &env), Ok("fallback".into()));
        assert_eq!(expand("${EMPTY:-fallback}", &env), Ok("fallback".into()));
        assert_eq!(expand("cost $5 and $${literal}", &env), Ok("cost $5 and ${literal}".into()));
    }

    #[test]
    fn reports_every_unset_variable() {
        assert_eq!(expand("${A}-${SUB}-${B}", &env), Err(vec!["A".into(), "B".into()]));
        assert_eq!(expand("${A}/${B:-x}", &|_| None), Err(vec!["A".to_string()]));
    }

    use crate::spec::model::{AzureCredentialKind, ConfigValue, EventHubsTier, SaslMechanism};

    /// A fresh `${V<n>}` for each string field.
    fn var(n: &mut usize) -> String {
        *n += 1;
        format!("${{V{n}}}")
    }

    fn tls(n: &mut usize) -> Option<Tls> {
        Some(Tls { ca_file: Some(var(n)), cert_file: Some(var(n)), key: Some(SecretRef::File(var(n))) })
    }

    /// Both cluster types with every optional field present and every
    /// string a distinct variable (struct literals: a new field must be added
    /// here), and how many variables that took.
    fn every_field_set() -> (Vec<Cluster>, usize) {
        let n = &mut 0;
        let kafka = Cluster::Kafka(KafkaCluster {
            bootstrap_servers: vec![var(n), var(n)],
            tls: tls(n),
            sasl: Some(Sasl {
                mechanism: SaslMechanism::OauthBearer,
                username: Some(SecretRef::Env(var(n))),
                password: Some(SecretRef::File(var(n))),
                oauth: Some(OAuthBearer {
                    token_endpoint: Some(var(n)),
                    credential: Some(AzureCredentialKind::ClientSecret),
                    scope: Some(var(n)),
                    client_id: Some(var(n)),
                    client_secret: Some(SecretRef::Env(var(n))),
                    tenant_id: Some(var(n)),
                    authority_host: Some(var(n)),
                }),
            }),
            client_config: [("client.rack".to_owned(), ConfigValue(var(n)))].into_iter().collect(),
        });
        let eventhubs = Cluster::Eventhubs(EventHubsCluster {
            namespace: var(n),
            tier: EventHubsTier::Premium,
            capacity: Some(2),
            subscription_id: var(n),
            resource_group: var(n),
            management: Some(AzureManagement {
                credential: AzureCredentialKind::ClientSecret,
                tenant_id: Some(var(n)),
                client_id: Some(var(n)),
                client_secret: Some(SecretRef::Env(var(n))),
            }),
            kafka: Some(EventHubsKafka {
                mechanism: SaslMechanism::Plain,
                credential: Some(AzureCredentialKind::WorkloadIdentity),
                connection_string: Some(SecretRef::File(var(n))),
            }),
            arm_endpoint: Some(var(n)),
            authority_host: Some(var(n)),
            bootstrap_servers: Some(vec![var(n)]),
            tls: tls(n),
        });
        (vec![kafka, eventhubs], *n)
    }

    #[test]
    fn cluster_walker_reaches_every_string_and_reports_what_it_cannot_expand() {
        let (clusters, count) = every_field_set();
        let mut visited = 0;
        for cluster in &clusters {
            // Nothing set: every string is reported, under a path of its own
            // (the list fields share theirs), and keeps its text.
            let mut unexpanded = cluster.clone();
            let unset = expand_cluster(&mut unexpanded, &|_| None);
            visited += unset.len();
            assert_eq!(unset.len(), cluster_strings_mut(&mut cluster.clone()).len());
            assert!(unset.iter().all(|u| u.name.starts_with('V')), "{unset:?}");
            let singles: Vec<_> = unset.iter().filter(|u| u.path != ["bootstrapServers"]).map(|u| &u.path).collect();
            let distinct: std::collections::BTreeSet<_> = singles.iter().collect();
            assert_eq!(distinct.len(), singles.len(), "two strings share a path: {unset:?}");
            assert_eq!(serde_json::to_value(&unexpanded).unwrap(), serde_json::to_value(cluster).unwrap());
            // Everything set: no string of the serialised block keeps a `${`,
            // so the walker missed none.
            let mut expanded = cluster.clone();
            assert_eq!(expand_cluster(&mut expanded, &|name| Some(format!("<{name}>"))), Vec::new());
            let json = serde_json::to_string(&expanded).unwrap();
            assert!(!json.contains("${"), "a string was not expanded: {json}");
        }
        assert_eq!(visited, count, "each variable is reported once");
        let kafka_paths: Vec<String> =
            expand_cluster(&mut clusters[0].clone(), &|_| None).iter().map(|u| u.path.join(".")).collect();
        for path in ["sasl.oauth.tokenEndpoint", "sasl.oauth.scope", "clientConfig.client.rack", "sasl.password.file"] {
            assert!(kafka_paths.iter().any(|p| p == path), "{path} not in {kafka_paths:?}");
        }
    }
}
