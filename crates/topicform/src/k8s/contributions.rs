//! Reading the topics services contribute (`from: kubernetes`): the
//! ConfigMaps the selector picks in each namespace, each `topics.yaml`
//! parsed with its locations. Merging is the core's
//! (`topicform_core::spec::contributed`).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use kube::api::{Api, ListParams};
use topicform_core::spec::model::KubernetesSource;
use topicform_core::spec::{parse_contribution, Contributed};

use super::Kube;
use crate::{Error, Result};

/// What the ConfigMaps declare, and where each owner is (for Events
/// about it).
#[derive(Debug, Default)]
pub struct Contributions {
    /// One per ConfigMap, in no particular order (the merge orders them).
    pub documents: Vec<Contributed>,
    /// Owner (`ConfigMap NAMESPACE/NAME`) -> the object.
    pub references: BTreeMap<String, ObjectReference>,
    /// The namespaces read.
    pub namespaces: Vec<String>,
}

/// Lists the ConfigMaps `source` selects and parses each one's topics.
/// A ConfigMap being deleted no longer contributes: its release is being
/// uninstalled.
pub async fn fetch(source: &KubernetesSource, timeout: Duration) -> Result<Contributions> {
    let kube = Kube::connect(None, timeout).await.map_err(|e| match e {
        Error::Kubernetes { what, cause, .. } => Error::Kubernetes {
            what: format!("{what} to read the topics ConfigMaps contribute (`from: kubernetes`)"),
            cause,
            fix:
                "run in a pod with a service account, or point KUBECONFIG at the cluster the services are installed in"
                    .into(),
            forbidden: true,
        },
        other => other,
    })?;
    let namespaces =
        if source.namespaces.is_empty() { vec![kube.namespace.clone()] } else { source.namespaces.clone() };
    let mut found = Contributions { namespaces: namespaces.clone(), ..Default::default() };
    for namespace in &namespaces {
        let api: Api<ConfigMap> = Api::namespaced(kube.client.clone(), namespace);
        let listed = api.list(&ListParams::default().labels(source.selector())).await.map_err(|e| {
            super::api_error(
                format!("list the ConfigMaps labelled `{}` in namespace `{namespace}`", source.selector()),
                namespace,
                "list on configmaps",
                e,
            )
        })?;
        for cm in listed.items.into_iter().filter(|cm| cm.metadata.deletion_timestamp.is_none()) {
            let (owner, contributed) = parse(namespace, &cm)?;
            found.references.insert(owner, reference(namespace, &cm));
            found.documents.push(contributed);
        }
    }
    tracing::info!(
        namespaces = %namespaces.join(","),
        selector = source.selector(),
        configmaps = found.documents.len(),
        topics = found.documents.iter().map(|d| d.contribution.topics.len()).sum::<usize>(),
        "read the contributed topics"
    );
    Ok(found)
}

/// One ConfigMap's owner name and parsed topics.
fn parse(namespace: &str, cm: &ConfigMap) -> Result<(String, Contributed)> {
    let name = cm.metadata.name.clone().unwrap_or_default();
    let owner = format!("ConfigMap {namespace}/{name}");
    let key = KubernetesSource::DATA_KEY;
    let document = format!("configmap/{namespace}/{name}/{key}");
    let text = cm.data.as_ref().and_then(|d| d.get(key)).ok_or_else(|| Error::Contribution {
        owner: owner.clone(),
        problem: format!("it has no `{key}` key"),
        fix: format!(
            "put the topics under `data.{key}` (the service chart's `topics:` value does), or remove its label"
        ),
    })?;
    let created = cm.metadata.creation_timestamp.as_ref().map(|t| super::rfc3339(t.0)).unwrap_or_default();
    let contributed = parse_contribution(&owner, &created, &document, text)
        .map_err(|f| Error::invalid_spec(&f.name, &f.source, std::slice::from_ref(&f.problem)))?;
    Ok((owner, contributed))
}

fn reference(namespace: &str, cm: &ConfigMap) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("ConfigMap".into()),
        name: cm.metadata.name.clone(),
        namespace: Some(namespace.to_owned()),
        uid: cm.metadata.uid.clone(),
        resource_version: cm.metadata.resource_version.clone(),
        ..Default::default()
    }
}
