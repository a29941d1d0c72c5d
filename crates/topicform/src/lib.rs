//! topicform's library: everything that talks to a cluster or an identity
//! provider, and what turns results into text. The spec and the plan engine
//! are in `topicform-core` (no I/O); the `topicform` binary owns the CLI.
//!
//! The modules, in the order data flows through them:
//!
//! - [`ops`]: the workflows (`plan`, `apply`, `export`): load → resolve →
//!   connect → observe → plan → apply.
//! - [`cluster`]: backends behind the [`cluster::Cluster`] trait.
//! - [`auth`]: access tokens (Entra ID, OIDC) for OAUTHBEARER and ARM.
//! - [`check`]: connect like a service and name what fails.
//! - [`lag`]: consumer-group lag through the Kafka protocol.
//! - [`render`]: plans and specs as text, JSON, Markdown and YAML.
//! - [`secret`]: secret references read at the last moment, never printed.
//! - [`error`]: the one error type, with codes and help.

pub mod auth;
pub mod check;
pub mod cluster;
pub mod error;
pub mod lag;
pub mod ops;
pub mod render;
pub mod secret;

pub use error::{Error, Result};
