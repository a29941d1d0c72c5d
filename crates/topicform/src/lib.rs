//! topicform's library: everything that talks to a cluster or an identity
//! provider, and what turns results into text. The spec and the plan engine
//! are in `topicform-core` (no I/O); the `topicform` binary owns the CLI.
//!
//! The modules, in the order data flows through them:
//!
//! - [`ops`]: the workflows (`plan`, `apply`, `export`): load → resolve →
//!   connect → observe → plan → apply.
//! - [`apply`]: the apply engine, written once: order, guards, batches,
//!   progress and the report.
//! - [`backend`]: Kafka and Event Hubs behind the [`backend::Backend`]
//!   trait: reads and primitive writes.
//! - [`kafka`]: the one Kafka client module (connection settings,
//!   OAUTHBEARER token sessions, admin requests), used by the Kafka backend,
//!   `check`, `lag` and the Event Hubs Kafka endpoint.
//! - [`auth`]: access tokens (Entra ID, OIDC) for OAUTHBEARER and ARM.
//! - [`check`]: connect like a service and name what fails.
//! - [`lock`]: one apply at a time per cluster: a Kubernetes Lease, or
//!   Kafka's group coordinator.
//! - [`k8s`]: Kubernetes when it is there: the client, the status object
//!   and Events of each run, the topics services contribute.
//! - [`controller`]: apply, kept running: leader election through the
//!   Lease, reconciles on change and on an interval, probes.
//! - [`lag`]: consumer-group lag through the Kafka protocol, printed or
//!   served as Prometheus metrics.
//! - [`telemetry`]: OpenTelemetry traces and metrics of every run (OTLP,
//!   configured by `OTEL_*` only).
//! - [`endpoint`]: the small HTTP server of probes and `/metrics`.
//! - [`render`]: plans and specs as text, JSON, Markdown and YAML.
//! - [`secret`]: secret references read at the last moment, never printed.
//! - [`error`]: the one error type, with codes and help.

pub mod apply;
pub mod auth;
pub mod backend;
pub mod check;
pub mod controller;
pub mod endpoint;
pub mod error;
pub mod k8s;
pub mod kafka;
pub mod lag;
pub mod lock;
pub mod ops;
pub mod render;
pub mod secret;
pub mod telemetry;

pub use error::{Error, Result};
