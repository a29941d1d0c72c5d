//! What makes the leader reconcile before its interval is up: the spec
//! file changed (Kubernetes swaps a mounted ConfigMap's files in place), or
//! a ConfigMap that contributes topics was created, changed or deleted
//! (a watch, as kube-runtime's controllers use).

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use topicform_core::spec::model::KubernetesSource;

use super::Settings;
use crate::k8s::Kube;

/// How often the spec file is read again.
const SPEC_POLL: Duration = Duration::from_secs(5);

pub(crate) struct Triggers {
    sender: mpsc::Sender<String>,
    receiver: mpsc::Receiver<String>,
    /// The source watched now, and its watches.
    watched: Option<(KubernetesSource, Vec<JoinHandle<()>>)>,
    spec_poller: JoinHandle<()>,
    timeout: Duration,
}

impl Triggers {
    /// Starts watching the spec file.
    pub(crate) fn start(settings: &Settings) -> Triggers {
        let (sender, receiver) = mpsc::channel(64);
        let spec_poller = tokio::spawn(poll_spec(settings.spec.clone(), sender.clone()));
        Triggers { sender, receiver, watched: None, spec_poller, timeout: settings.timeout }
    }

    /// Watches the ConfigMaps `source` selects (again, if it changed).
    pub(crate) async fn watch(&mut self, source: KubernetesSource) {
        if self.watched.as_ref().is_some_and(|(current, _)| *current == source) {
            return;
        }
        self.stop_watches();
        let kube = match Kube::connect(None, self.timeout).await {
            Ok(kube) => kube,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the contributing ConfigMaps; changes are seen at the next interval");
                return;
            }
        };
        let namespaces =
            if source.namespaces.is_empty() { vec![kube.namespace.clone()] } else { source.namespaces.clone() };
        let watches = namespaces
            .into_iter()
            .map(|ns| {
                let api: Api<ConfigMap> = Api::namespaced(kube.client.clone(), &ns);
                let config = watcher::Config::default().labels(source.selector());
                tokio::spawn(watch_configmaps(api, config, ns, self.sender.clone()))
            })
            .collect();
        self.watched = Some((source, watches));
    }

    /// The next change (what changed, for the log).
    pub(crate) async fn next(&mut self) -> String {
        self.receiver.recv().await.unwrap_or_else(|| "no more triggers".into())
    }

    /// Forgets changes already seen: the coming reconcile covers them.
    pub(crate) fn drain(&mut self) {
        while self.receiver.try_recv().is_ok() {}
    }

    fn stop_watches(&mut self) {
        if let Some((_, watches)) = self.watched.take() {
            watches.iter().for_each(JoinHandle::abort);
        }
    }
}

impl Drop for Triggers {
    fn drop(&mut self) {
        self.stop_watches();
        self.spec_poller.abort();
    }
}

/// Sends a trigger whenever the spec file's content changes.
async fn poll_spec(path: PathBuf, sender: mpsc::Sender<String>) {
    let digest = |bytes: &[u8]| {
        use sha2::Digest;
        sha2::Sha256::digest(bytes).to_vec()
    };
    let mut last = std::fs::read(&path).ok().map(|b| digest(&b));
    loop {
        tokio::time::sleep(SPEC_POLL).await;
        let now = std::fs::read(&path).ok().map(|b| digest(&b));
        if now != last {
            last = now;
            if sender.send(format!("{} changed", path.display())).await.is_err() {
                return;
            }
        }
    }
}

/// Sends a trigger for every change of a selected ConfigMap in `namespace`,
/// and once its first list is complete (what changed before the watch).
async fn watch_configmaps(
    api: Api<ConfigMap>,
    config: watcher::Config,
    namespace: String,
    sender: mpsc::Sender<String>,
) {
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    while let Some(event) = events.next().await {
        let why = match event {
            Ok(Event::Apply(cm)) | Ok(Event::Delete(cm)) => {
                format!("ConfigMap {namespace}/{} changed", cm.metadata.name.unwrap_or_default())
            }
            Ok(Event::InitDone) => format!("the ConfigMaps of namespace {namespace} were listed"),
            Ok(Event::Init) | Ok(Event::InitApply(_)) => continue,
            Err(e) => {
                tracing::warn!(namespace = %namespace, error = %e, "watching the contributing ConfigMaps failed; retrying");
                continue;
            }
        };
        if sender.send(why).await.is_err() {
            return;
        }
    }
}
