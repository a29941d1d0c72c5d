//! `env --client LIB`: a library's settings as the file it reads, with
//! each value's source in a comment above it. Java and librdkafka (and
//! confluent-kafka-go, which is librdkafka) read `key=value` properties;
//! kafkajs takes option objects, so its form is a CommonJS module of the
//! three objects to spread into `new Kafka()`, `kafka.producer()` and
//! `kafka.consumer()`, which the example platform's shared Kafka service
//! `require`s. `--format helm-values` wraps the file for the service chart.

use topicform_core::spec::client_settings::{ClientSettings, Library, Role, Setting, MICROSOFT_GUIDE};

/// The settings file for `settings`, made for environment `env`.
pub fn client_settings_file(settings: &ClientSettings, env: &str) -> String {
    match settings.library {
        Library::Kafkajs => kafkajs_module(settings, env),
        _ => properties(settings, env),
    }
}

/// The service chart's `clientConfig:` block holding the file.
pub fn client_settings_helm_values(settings: &ClientSettings, env: &str) -> String {
    let file = client_settings_file(settings, env);
    let content: String =
        file.lines().map(|l| if l.is_empty() { "\n".to_owned() } else { format!("    {l}\n") }).collect();
    format!(
        "# The service chart's Kafka client settings (helm/service values): topicform env -e {env} --client {lib} --format helm-values\nclientConfig:\n  library: {lib}\n  file: {file_name}\n  content: |\n{content}",
        lib = settings.library.name(),
        file_name = settings.library.file_name(),
    )
}

fn what(settings: &ClientSettings) -> &'static str {
    if settings.event_hubs {
        "the Azure Event Hubs Kafka endpoint"
    } else {
        "Apache Kafka"
    }
}

fn header(settings: &ClientSettings, env: &str, comment: &str) -> String {
    let lib = settings.library.name();
    let mut out = format!(
        "{comment} Kafka client settings for {lib}, environment `{env}` ({}).\n{comment} Made by `topicform env -e {env} --client {lib}`. The connection itself (brokers,\n{comment} security protocol, SASL) comes from the KAFKA_* variables (`topicform env`).\n",
        what(settings)
    );
    if settings.library == Library::ConfluentKafkaGo {
        out.push_str(&format!(
            "{comment} confluent-kafka-go passes librdkafka's keys unchanged: put each line into the kafka.ConfigMap.\n"
        ));
    }
    if !settings.event_hubs {
        out.push_str(&format!("{comment} Nothing extra: the library's defaults are made for Apache Kafka.\n"));
    } else if settings.library != Library::Kafkajs {
        out.push_str(&format!(
            "{comment} Values from Microsoft's guide ({MICROSOFT_GUIDE}); each one's source is above it.\n"
        ));
    }
    out
}

fn notes(settings: &ClientSettings, comment: &str) -> String {
    if settings.notes.is_empty() {
        return String::new();
    }
    let mut out = format!("{comment}\n{comment} Also:\n");
    for note in &settings.notes {
        out.push_str(&format!("{comment} - {note}\n"));
    }
    out
}

fn role(role: Role) -> &'static str {
    match role {
        Role::Client | Role::ProducerAndConsumer => "producer and consumer",
        Role::Producer => "producer",
        Role::Consumer => "consumer",
    }
}

fn properties(settings: &ClientSettings, env: &str) -> String {
    let mut out = header(settings, env, "#");
    out.push_str(&notes(settings, "#"));
    for s in &settings.settings {
        out.push_str(&format!("\n# {}: {}\n{}={}\n", role(s.role), s.source, s.key, s.value));
    }
    out
}

fn kafkajs_module(settings: &ClientSettings, env: &str) -> String {
    let mut out = header(settings, env, "//");
    out.push_str(
        "// Spread each object into kafkajs' own options:\n\
         //   const settings = require(process.env.KAFKA_CLIENT_CONFIG);\n\
         //   const kafka = new Kafka({ ...settings.client, clientId, brokers, ssl, sasl });\n\
         //   const producer = kafka.producer({ ...settings.producer });\n\
         //   const consumer = kafka.consumer({ ...settings.consumer, groupId });\n",
    );
    out.push_str(&notes(settings, "//"));
    out.push_str("module.exports = {\n");
    for (object, roles) in [
        ("client", &[Role::Client][..]),
        ("producer", &[Role::Producer, Role::ProducerAndConsumer]),
        ("consumer", &[Role::Consumer, Role::ProducerAndConsumer]),
    ] {
        let mine: Vec<&Setting> = settings.settings.iter().filter(|s| roles.contains(&s.role)).collect();
        if mine.is_empty() {
            out.push_str(&format!("  {object}: {{}},\n"));
            continue;
        }
        out.push_str(&format!("  {object}: {{\n"));
        for s in mine {
            out.push_str(&format!("    // {}\n    {}: {},\n", s.source, s.key, s.value));
        }
        out.push_str("  },\n");
    }
    out.push_str("};\n");
    out
}
