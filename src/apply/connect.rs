//! From a kubeconfig context to a client whose every request is bounded in
//! time and every response in size, and from every client failure to one [`ApplyError`] that names the
//! context and the server.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::ApplyError;

/// The `User-Agent` of every request gen sends.
pub const USER_AGENT: &str = concat!("gen/", env!("CARGO_PKG_VERSION"));

/// Which cluster to talk to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The kubeconfig context.
    pub context: String,
    /// The kubeconfig file [default: `$KUBECONFIG`, else `~/.kube/config`].
    pub kubeconfig: Option<PathBuf>,
    /// Bound on connecting and on each request.
    pub request_timeout: Duration,
}

/// A connected client and what messages need to name it.
#[derive(Clone)]
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// The context's name.
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// Bound on each request.
    pub timeout: Duration,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

fn kubeconfig_place(target: &Target) -> String {
    match (&target.kubeconfig, std::env::var_os("KUBECONFIG")) {
        (Some(p), _) => p.display().to_string(),
        (None, Some(k)) if !k.is_empty() => format!("$KUBECONFIG ({})", k.to_string_lossy()),
        _ => "~/.kube/config".to_owned(),
    }
}

impl Cluster {
    /// Read the kubeconfig, select the context and build a client. Nothing
    /// is sent yet; [`super::engine::discover`] makes the first request.
    pub async fn connect(target: &Target) -> Result<Cluster, ApplyError> {
        let place = kubeconfig_place(target);
        let kubeconfig = match &target.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        }
        .map_err(|e| ApplyError::Kubeconfig {
            path: place.clone(),
            why: chain(&e),
        })?;
        if !kubeconfig.contexts.iter().any(|c| c.name == target.context) {
            let names: Vec<&str> = kubeconfig
                .contexts
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            let help = match crate::catalog::schema::closest(&target.context, names.iter().copied())
            {
                Some(c) => format!("did you mean `{c}`? Its contexts: {}", names.join(", ")),
                None if names.is_empty() => "the kubeconfig has no contexts".to_owned(),
                None => format!("its contexts: {}", names.join(", ")),
            };
            return Err(ApplyError::NoContext {
                context: target.context.clone(),
                path: place,
                help,
            });
        }
        let options = KubeConfigOptions {
            context: Some(target.context.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| ApplyError::BadContext {
                context: target.context.clone(),
                why: chain(&e),
            })?;
        config.connect_timeout = Some(target.request_timeout);
        config.read_timeout = Some(target.request_timeout);
        config.write_timeout = Some(target.request_timeout);
        // Named in the server's audit log and request metrics, as kubectl
        // names itself `kubectl/<version>`.
        config.headers.push((
            http::header::USER_AGENT,
            http::HeaderValue::from_static(USER_AGENT),
        ));
        let server = config.cluster_url.to_string();
        let server = server.trim_end_matches('/').to_owned();
        let client = ClientBuilder::try_from(config)
            .map_err(|e| ApplyError::BadContext {
                context: target.context.clone(),
                why: chain(&e),
            })?
            .with_layer(&super::limit::BodyLimit {
                max: super::limit::MAX_RESPONSE_BYTES,
            })
            .build();
        Ok(Cluster {
            client,
            context: target.context.clone(),
            server,
            timeout: target.request_timeout,
        })
    }

    /// Run one request with the time bound, mapping its failure to an
    /// [`ApplyError`] that says `what` was being done.
    pub(crate) async fn call<T>(
        &self,
        what: impl Fn() -> String,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ApplyError> {
        match self.bounded(&what, fut).await? {
            Ok(v) => Ok(v),
            Err(e) => Err(self.error(&what(), e)),
        }
    }

    /// Run one request with the time bound; the outer error is the time
    /// running out, the inner one the client's.
    pub(crate) async fn bounded<T>(
        &self,
        what: &impl Fn() -> String,
        fut: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<Result<T, kube::Error>, ApplyError> {
        // The client's own timeouts bound connect and each read; this bounds
        // the whole request (retries, slow bodies) as well.
        tokio::time::timeout(self.timeout + Duration::from_secs(1), fut)
            .await
            .map_err(|_| ApplyError::Unreachable {
                context: self.context.clone(),
                server: self.server.clone(),
                why: format!(
                    "no answer within {}s ({})",
                    self.timeout.as_secs_f64(),
                    what()
                ),
            })
    }

    /// Classify a client error.
    pub(crate) fn error(&self, what: &str, e: kube::Error) -> ApplyError {
        let (context, server) = (self.context.clone(), self.server.clone());
        match e {
            kube::Error::Api(status) => {
                let why = if status.message.is_empty() {
                    status.reason.clone()
                } else {
                    status.message.clone()
                };
                match status.code {
                    401 => ApplyError::Unauthorized {
                        context,
                        server,
                        why: format!("{why} (HTTP 401)"),
                    },
                    code => ApplyError::Api {
                        context,
                        server,
                        what: what.to_owned(),
                        help: match code {
                            403 if why.contains("because it is being terminated") => "the namespace is being deleted: wait until it is gone (`kubectl get namespace`), then apply again to create it anew".to_owned(),
                            403 => "the context's user lacks RBAC permission for this; ask a cluster admin for a Role granting it".to_owned(),
                            422 if why.contains("field is immutable") => "the server keeps that field as it was created (a Deployment's selector, a Service's clusterIP, ...): revert the change in the catalog, or delete the live object (`kubectl delete`) and apply again, knowing its pods go with it".to_owned(),
                            422 if why.contains("updates to statefulset spec") => "a StatefulSet's volumes (size, class, access mode) are fixed when it is created: revert the change in the catalog, or delete only the StatefulSet, keeping its pods and claims (`kubectl delete statefulset <name> --cascade=orphan`), and apply again; a claim grows only by editing the claim itself, where its class allows expansion".to_owned(),
                            404 if why.starts_with("namespaces ") => "the namespace does not exist on the cluster; declare it in the catalog (`namespaces:`) so gen creates it".to_owned(),
                            404 => "the API server does not serve this resource (is the Kubernetes version too old?)".to_owned(),
                            422 => "the server refused the object; this is a gen bug if `gen build` accepted the catalog: please report it".to_owned(),
                            _ => "retry; if it persists, check the API server's health".to_owned(),
                        },
                        why,
                        code,
                    },
                }
            }
            kube::Error::Auth(a) => ApplyError::Unauthorized {
                context,
                server,
                why: chain(&a),
            },
            other => ApplyError::Unreachable {
                context,
                server,
                why: chain(&other),
            },
        }
    }
}

/// An error with its sources, `a: b: c`.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}
