//! Token refresh across expiry in a long-lived client, against the real
//! broker (which re-authenticates every connection when its token expires,
//! KIP-368). This binary holds one test only: it sets the process's
//! environment as AKS workload identity would, which no other test may see.

mod support;

use std::time::{Duration, Instant};

use support::idp::Idp;
use support::secure_broker;
use topicform::backend::kafka::KafkaBackend;
use topicform::backend::{Backend, Scope};
use topicform_core::spec::model::KafkaCluster;

#[test]
fn an_admin_client_keeps_working_as_its_tokens_expire_and_the_federated_token_rotates() {
    let b = secure_broker();
    let idp = Idp::start_for_broker(&b.dir);
    idp.set_lifetime(Duration::from_secs(4));
    for (k, v) in idp.workload_identity_env() {
        std::env::set_var(k, v);
    }
    let cluster: KafkaCluster = serde_json::from_value(serde_json::json!({
        "bootstrapServers": [b.sasl_ssl],
        "tls": { "caFile": b.ca },
        "sasl": { "mechanism": "OAUTHBEARER", "oauth": { "credential": "workloadIdentity", "scope": "api://topicform-test-kafka/.default" } },
    }))
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend =
        KafkaBackend::connect("test", &cluster, Duration::from_secs(20)).expect("connects with a first token");
    let scope = Scope { topics: Some(Default::default()), ..Default::default() };
    let started = Instant::now();
    let mut reads = 0;
    // Three and a half token lifetimes: without refresh the broker would
    // refuse the connection's re-authentication after the first four seconds.
    while started.elapsed() < Duration::from_secs(14) {
        runtime
            .block_on(backend.observe(&scope))
            .unwrap_or_else(|e| panic!("read {reads} after {:?} failed: {e:?}", started.elapsed()));
        reads += 1;
        if reads % 3 == 0 {
            // Only the newest federated token is accepted from now on, so a
            // refresh that did not re-read the file would fail.
            idp.rotate_federated_token();
        }
        std::thread::sleep(Duration::from_millis(700));
    }
    drop(backend);
    let issued = idp.tokens_issued();
    assert!(issued >= 4, "expected a refresh every ~3.2 s over 14 s, the provider issued {issued} token(s)");
}
