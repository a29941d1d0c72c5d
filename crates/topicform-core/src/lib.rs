//! topicform's core: the spec and the plan engine, with no I/O.
//!
//! - [`spec`]: the YAML model, loading with source locations, validation and
//!   resolution of one environment into desired topics.
//! - [`plan`]: the diff between desired and observed topics (and grants).
//! - [`policy`]: rules every topic must satisfy, and waivers.
//! - [`access`]: the ACLs and Event Hubs data roles the spec's services need.
//! - [`emulator`]: the Event Hubs emulator's `Config.json` for an environment.
//!
//! Nothing here reads a file, opens a socket, spawns a process or knows a
//! clock: text and variables come in as arguments, plans go out as values.
//! The dependency list enforces it (no tokio, rdkafka, reqwest, clap), and
//! `tests/architecture.rs` keeps it that way.

pub mod access;
pub mod emulator;
pub mod plan;
pub mod policy;
pub mod spec;

/// The JSON Schema of the spec, as `topicform schema` prints it and
/// `schema/topicform.schema.json` keeps it.
pub fn spec_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(spec::Spec)).expect("the spec schema serialises")
}

/// The JSON Schema of a shared policy file (`--policy FILE`), as
/// `topicform schema --policy` prints it and `schema/policy.schema.json`
/// keeps it.
pub fn policy_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(policy::Policy)).expect("the policy schema serialises")
}
