//! Why talking to a cluster failed: one error per cause, each naming the
//! context and the API server, with a hint for the fix.

use miette::Diagnostic;

/// A failure of `gen apply`, `gen diff` or `gen rollback`.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ApplyError {
    /// No kubeconfig could be read.
    #[error("cannot read the kubeconfig {path}: {why}")]
    #[diagnostic(
        code(gen::apply::kubeconfig),
        help("pass --kubeconfig PATH, set KUBECONFIG, or create ~/.kube/config")
    )]
    Kubeconfig {
        /// Which file (or where gen looked).
        path: String,
        /// What went wrong.
        why: String,
    },
    /// The context is not in the kubeconfig.
    #[error("context `{context}` is not in the kubeconfig {path}")]
    #[diagnostic(code(gen::apply::context), help("{help}"))]
    NoContext {
        /// The context asked for.
        context: String,
        /// The kubeconfig read.
        path: String,
        /// The contexts it has, or a suggestion.
        help: String,
    },
    /// The kubeconfig's entry for the context cannot be used.
    #[error("context `{context}` in the kubeconfig cannot be used: {why}")]
    #[diagnostic(
        code(gen::apply::context),
        help("check the context's cluster and user entries (`kubectl config view --minify --context {context}`)")
    )]
    BadContext {
        /// The context.
        context: String,
        /// What is wrong with it.
        why: String,
    },
    /// The API server did not answer in time, refused the connection, or
    /// failed TLS.
    #[error("cannot reach the API server of context `{context}` at {server}: {why}")]
    #[diagnostic(
        code(gen::apply::unreachable),
        help("check the network path (VPN, SSH tunnel through the bastion, security group on 6443) and that the server address in the kubeconfig is right; --request-timeout sets the bound")
    )]
    Unreachable {
        /// The context.
        context: String,
        /// The server URL from the kubeconfig.
        server: String,
        /// What failed.
        why: String,
    },
    /// The API server rejected the credentials.
    #[error("the API server of context `{context}` at {server} rejected the credentials: {why}")]
    #[diagnostic(
        code(gen::apply::credentials),
        help("refresh the credentials of the context's user (token, client certificate or exec plugin) and retry")
    )]
    Unauthorized {
        /// The context.
        context: String,
        /// The server URL.
        server: String,
        /// The server's or the credential plugin's message.
        why: String,
    },
    /// A request failed for another reason.
    #[error("context `{context}` at {server}: {what}: {why}")]
    #[diagnostic(code(gen::apply::api), help("{help}"))]
    Api {
        /// The context.
        context: String,
        /// The server URL.
        server: String,
        /// The request, e.g. `apply deployment/api -n platform`.
        what: String,
        /// The server's message.
        why: String,
        /// HTTP status (0 when there was none).
        code: u16,
        /// How to fix it.
        help: String,
    },
    /// A protected context needs `--yes` or an interactive confirmation.
    #[error("context `{context}` is protected (environment `{environment}`): refusing to change it without confirmation")]
    #[diagnostic(
        code(gen::apply::protected),
        help("re-run with --yes, or in a terminal to confirm interactively (gen apply shows the change summary above first)")
    )]
    Refused {
        /// The context.
        context: String,
        /// The environment that marks it protected.
        environment: String,
    },
    /// The operator answered no.
    #[error("nothing changed: the confirmation was declined")]
    #[diagnostic(code(gen::apply::declined))]
    Declined,
    /// A one-off Job failed, so the rollout after it did not start.
    #[error("job/{name} -n {namespace} failed: {why}")]
    #[diagnostic(
        code(gen::apply::job),
        help("{details}\nthe Deployments after it were not applied; fix the cause (the service's `jobs` in the catalog, or what the job needs) and apply again, or look at it: `kubectl --context {context} describe job {name} -n {namespace}`")
    )]
    JobFailed {
        /// The context.
        context: String,
        /// The Job.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The Job condition that says why.
        why: String,
        /// The failed pod's termination and log tail, one per line.
        details: String,
    },
    /// `--timeout` ran out while a one-off Job still ran.
    #[error("timed out after {seconds}s waiting for job/{name} -n {namespace}")]
    #[diagnostic(
        code(gen::apply::job_timeout),
        help("{details}\nthe Deployments after it were not applied; raise --timeout, or look at it: `kubectl --context {context} describe job {name} -n {namespace}`")
    )]
    JobTimeout {
        /// The context.
        context: String,
        /// The Job.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The bound.
        seconds: u64,
        /// What its pods say, one per line.
        details: String,
    },
    /// A Deployment's or StatefulSet's rollout failed.
    #[error("rollout of {kind}/{name} -n {namespace} failed: {why}")]
    #[diagnostic(code(gen::apply::rollout), help("{details}\nfix the cause, or {undo}"))]
    RolloutFailed {
        /// The workload kind, lowercase (`deployment`, `statefulset`).
        kind: String,
        /// The workload.
        name: String,
        /// Its namespace.
        namespace: String,
        /// How to go back, e.g. `roll back with `gen rollback api --context prod``.
        undo: String,
        /// The Deployment condition that says why.
        why: String,
        /// Pod conditions and events that explain it, one per line.
        details: String,
    },
    /// `--timeout` ran out while waiting for rollouts.
    #[error("timed out after {seconds}s waiting for the rollout of {pending}")]
    #[diagnostic(
        code(gen::apply::timeout),
        help("{details}\nfix the cause ({rollback}), raise --timeout, or look at the pods: `kubectl --context {context} get pods -n {namespace}`")
    )]
    RolloutTimeout {
        /// How to roll the pending services back, e.g. `gen rollback api --context prod`.
        rollback: String,
        /// The context.
        context: String,
        /// The bound.
        seconds: u64,
        /// The Deployments still rolling out, e.g. `deployment/api -n platform`.
        pending: String,
        /// A namespace of one of them, for the hint.
        namespace: String,
        /// What their pods say, one per line.
        details: String,
    },
    /// The project's ApplySet already holds objects, and none of them is in
    /// this catalog: most likely a second catalog with the same `project`.
    #[error("the ApplySet {parent} (project `{project}`) on context `{context}` holds {count} object(s), none of them in this catalog (e.g. {example}): is another catalog using the project name `{project}`?")]
    #[diagnostic(
        code(gen::apply::shared_set),
        help("two catalogs that share a project name share one set, and each one's --prune would delete the other's objects: give this catalog its own `project`. If this catalog really replaces everything the set holds, re-run with --replace-set (add --prune to delete the old objects)")
    )]
    SharedSet {
        /// The context.
        context: String,
        /// The project.
        project: String,
        /// The parent, e.g. `configmap/gen-applyset-shop -n shop`.
        parent: String,
        /// How many live members the set has.
        count: usize,
        /// One of them, e.g. `deployment/cart -n shop`.
        example: String,
    },
    /// `gen rollback` has nothing to go back to.
    #[error("cannot roll back {what}: {why}")]
    #[diagnostic(code(gen::rollback::nothing), help("{help}"))]
    Rollback {
        /// The object.
        what: String,
        /// Why not.
        why: String,
        /// What to do instead.
        help: String,
    },
}
