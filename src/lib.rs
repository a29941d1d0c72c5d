//! topicform: reconcile a declarative YAML spec of topics against Apache Kafka
//! or Azure Event Hubs.
//!
//! The crate is split by concern, in the order data flows through it:
//!
//! - [`spec`]: the YAML model, loading with source locations, validation and
//!   resolution of one environment into desired topics. Pure.
//! - [`plan`]: the diff between desired and observed topics. Pure.
//! - [`cluster`]: backends behind the [`cluster::Cluster`] trait. The only
//!   place that talks to a broker.
//! - [`auth`]: access tokens (Entra ID, OIDC) for OAUTHBEARER and ARM.
//! - [`check`]: connect like a service and name what fails.
//! - [`lag`]: consumer-group lag through the Kafka protocol.
//! - [`render`]: plans and specs as text, JSON, Markdown and YAML.
//! - [`secret`]: secret references read at the last moment, never printed.
//! - [`ops`]: the workflows (`plan`, `apply`, `export`) that wire the above.
//! - [`cli`]: clap types and the `cmd_*` functions behind each subcommand.
#![deny(missing_docs)]

pub mod auth;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod error;
pub mod lag;
pub mod ops;
pub mod plan;
pub mod render;
pub mod secret;
pub mod spec;

pub use error::{Error, Result};
