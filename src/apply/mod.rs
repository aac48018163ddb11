//! Putting the manifests on a cluster: `gen apply`, `gen diff`, `gen rollback`.
//!
//! This stage and [`crate::write`] are the only ones that do IO; this one is
//! the only one that talks to the network. It uses the `kube` crate's real
//! client (rustls, no OpenSSL):
//!
//! - [`desired`] (pure) turns the rendered manifests into the objects to
//!   apply, in dependency order, with ApplySet ownership labels;
//! - [`connect`] reads the kubeconfig, picks the context and bounds every
//!   request in time, turning every failure into one error that names the
//!   context and the server; [`limit`] bounds the size of every response;
//! - [`engine`] does discovery, server-side apply (`fieldManager=gen`),
//!   server-side dry runs, pruning and the live-versus-desired diff;
//! - [`wait`] watches Deployment rollouts;
//! - [`rollback`] re-applies a previous ReplicaSet's pod template, or
//!   switches a blue-green Service back to the other colour.
//!
//! Architecture invariant: nothing in this module prints. Progress goes
//! through an [`Observer`]; results are values the binary renders.

pub mod connect;
pub mod desired;
pub mod diff;
pub mod engine;
pub mod error;
pub mod jobs;
pub mod limit;
pub mod rollback;
pub mod wait;

pub use connect::{Cluster, Target};
pub use desired::{ApplySet, Desired, Kind, Obj, ObjectRef};
pub use engine::{Change, Conflict, ObjectResult, Report};
pub use error::ApplyError;
pub use wait::{Observer, Rollout};

/// The field manager gen applies as (`kubectl` uses `kubectl`, Helm `helm`).
pub const FIELD_MANAGER: &str = "gen";
