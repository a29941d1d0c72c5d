//! The broker environment (DESIGN section 5) in the formats services and
//! deploy tools consume. Secrets are rendered as references (`${NAME}`,
//! `$(cat FILE)`, `secretKeyRef`) unless their values are passed in, which
//! the CLI does only with `--reveal-secrets`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Map, Value};

use crate::secret::SecretString;
use topicform_core::spec::broker_env::{EnvValue, EnvVar};
use topicform_core::spec::model::SecretRef;

/// Output formats of `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvFormat {
    /// `NAME=value` lines (docker compose `env_file`, dotenv loaders).
    Dotenv,
    /// `export NAME=value` lines for `eval` in a shell.
    Shell,
    /// One JSON object.
    Json,
    /// A Kubernetes Secret and the container `env:` block that references it.
    K8sSecret,
    /// The `broker:` block of the Helm charts' values.
    HelmValues,
}

/// Revealed secret values by variable name (only with `--reveal-secrets`).
pub type Revealed = BTreeMap<&'static str, SecretString>;

/// Renders `vars` as `format`. `secret_name` names the Kubernetes Secret
/// (k8s-secret, helm-values).
pub fn render_env(vars: &[EnvVar], format: EnvFormat, secret_name: &str, revealed: Option<&Revealed>) -> String {
    let value_of = |v: &EnvVar| -> Result<String, SecretRef> {
        match &v.value {
            EnvValue::Plain(s) => Ok(s.clone()),
            EnvValue::Secret(r) => match revealed.and_then(|m| m.get(v.name)) {
                Some(s) => Ok(s.expose().to_owned()),
                None => Err(r.clone()),
            },
        }
    };
    match format {
        EnvFormat::Dotenv => lines(vars, value_of, |name, v| match v {
            Ok(s) => format!("{name}={}", single_quoted_if_needed(&s)),
            Err(SecretRef::Env(var)) => format!("{name}=${{{var}}}"),
            Err(SecretRef::File(path)) => {
                format!("# {name} is read from the file {path}; pass --reveal-secrets to write its value here")
            }
        }),
        EnvFormat::Shell => lines(vars, value_of, |name, v| match v {
            Ok(s) => format!("export {name}={}", shell_quote(&s)),
            Err(SecretRef::Env(var)) => format!("export {name}=\"${{{var}}}\""),
            Err(SecretRef::File(path)) => format!("export {name}=\"$(cat {})\"", shell_quote(&path)),
        }),
        EnvFormat::Json => {
            let mut map = Map::new();
            for v in vars {
                let value = match value_of(v) {
                    Ok(s) => Value::String(s),
                    Err(r) => json!({ "secretRef": r }),
                };
                map.insert(v.name.to_owned(), value);
            }
            let mut s = serde_json::to_string_pretty(&Value::Object(map)).expect("JSON");
            s.push('\n');
            s
        }
        EnvFormat::K8sSecret => k8s(vars, secret_name, &value_of),
        EnvFormat::HelmValues => helm_values(vars, secret_name),
    }
}

fn lines(
    vars: &[EnvVar],
    value_of: impl Fn(&EnvVar) -> Result<String, SecretRef>,
    line: impl Fn(&str, Result<String, SecretRef>) -> String,
) -> String {
    vars.iter().map(|v| line(v.name, value_of(v)) + "\n").collect()
}

/// Plain when safe for dotenv parsers, else single-quoted (no `$`
/// interpolation, which matters for `$ConnectionString`).
fn single_quoted_if_needed(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ".,:_-/@".contains(c)) {
        s.to_owned()
    } else if !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "\\$"))
    }
}

/// POSIX shell single quoting.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn k8s(vars: &[EnvVar], secret_name: &str, value_of: &dyn Fn(&EnvVar) -> Result<String, SecretRef>) -> String {
    let secrets: Vec<&EnvVar> = vars.iter().filter(|v| matches!(v.value, EnvValue::Secret(_))).collect();
    let mut out = String::new();
    if !secrets.is_empty() {
        let values: Vec<(&str, Result<String, SecretRef>)> = secrets.iter().map(|v| (v.name, value_of(v))).collect();
        if values.iter().all(|(_, v)| v.is_ok()) {
            let data: Map<String, Value> =
                values.into_iter().map(|(k, v)| (k.to_owned(), Value::String(v.unwrap_or_default()))).collect();
            let secret = json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": { "name": secret_name },
                "type": "Opaque",
                "stringData": data,
            });
            out.push_str(&super::to_yaml(&secret));
        } else {
            let _ = writeln!(out, "# Create the Secret from the references (no value is printed here):");
            let _ = write!(out, "#   kubectl create secret generic {secret_name}");
            for (name, v) in &values {
                match v {
                    Err(SecretRef::Env(var)) => {
                        let _ = write!(out, " \\\n#     --from-literal={name}=\"${var}\"");
                    }
                    Err(SecretRef::File(path)) => {
                        let _ = write!(out, " \\\n#     --from-file={name}={path}");
                    }
                    Ok(_) => {}
                }
            }
            let _ = writeln!(out, "\n# or pass --reveal-secrets to print the Secret manifest with its values.");
        }
        out.push_str("---\n");
    }
    let env: Vec<Value> = vars
        .iter()
        .map(|v| match &v.value {
            EnvValue::Plain(s) => json!({ "name": v.name, "value": s }),
            EnvValue::Secret(_) => json!({
                "name": v.name,
                "valueFrom": { "secretKeyRef": { "name": secret_name, "key": v.name } },
            }),
        })
        .collect();
    out.push_str("# The container's env block:\n");
    out.push_str(&super::to_yaml(&json!({ "env": env })));
    out
}

fn helm_values(vars: &[EnvVar], secret_name: &str) -> String {
    let mut broker = Map::new();
    let mut secret_keys = Map::new();
    for v in vars {
        let key = match v.name {
            "KAFKA_BROKERS" => "brokers",
            "KAFKA_SECURITY_PROTOCOL" => "securityProtocol",
            "KAFKA_SASL_MECHANISM" => "saslMechanism",
            "KAFKA_SASL_USERNAME" => "saslUsername",
            "KAFKA_SASL_PASSWORD" => "saslPassword",
            "KAFKA_GROUP_ID" => "groupId",
            other => other,
        };
        match &v.value {
            EnvValue::Plain(s) => {
                broker.insert(key.to_owned(), Value::String(s.clone()));
            }
            EnvValue::Secret(_) => {
                secret_keys.insert(key.to_owned(), Value::String(v.name.to_owned()));
            }
        }
    }
    if !secret_keys.is_empty() {
        broker.insert("existingSecret".into(), json!({ "name": secret_name, "keys": secret_keys }));
    }
    let oauthbearer = broker.get("saslMechanism").and_then(Value::as_str) == Some("OAUTHBEARER");
    let mut out = format!(
        "# The charts' `broker:` values (DESIGN section 5). Secrets stay in the Secret `{secret_name}`;\n# create it with `topicform env --format k8s-secret`.\n{}",
        super::to_yaml(&json!({ "broker": broker }))
    );
    // The charts also read `environment` (the spec environment their topicform
    // Job applies) and, for OAUTHBEARER on AKS, the services' workload identity.
    out.push_str("  # environment: ENV                    # this output's -e: the environment the charts' topicform Job applies\n");
    if oauthbearer {
        out.push_str("  # workloadIdentity: { clientId: ID }  # OAUTHBEARER on AKS: the client id of the services' workload identity\n");
    }
    // Event Hubs (the charts' rule: a `.servicebus.` host, or OAUTHBEARER):
    // the topicform Job's own identity, which the services never get.
    let eventhubs =
        broker.get("brokers").and_then(Value::as_str).is_some_and(|b| b.to_lowercase().contains(".servicebus."));
    if eventhubs || oauthbearer {
        out.push_str("  # management: { workloadIdentity: { clientId: ID } }  # Event Hubs: the client id the topicform Job manages the topics with (ARM), never the services'\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_dollar_literal() {
        assert_eq!(single_quoted_if_needed("localhost:9092"), "localhost:9092");
        assert_eq!(single_quoted_if_needed("$ConnectionString"), "'$ConnectionString'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
