use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::flows::db_port;

/// A database no service is allowed to reach.
pub static RULE: Rule = Rule {
    id: "database-unused",
    severity: Severity::Info,
    scope: Scope::Network,
    summary: "a database no service's egress allows",
    what: "`cluster.aws.database` is set, but no service has an `egress` \
entry on the database's port.",
    why: "The `database` security group admits the workers on the database \
port, but each service's NetworkPolicy denies every destination outside the \
cluster that its `egress` does not list. So no pod can actually connect: \
either the services that use the database are missing their `egress` entry \
(and will time out on connect), or the database is not needed and its group \
is an opening nobody uses.",
    example: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    database: {engine: postgres} # <-\nservices:\n  web: {image: 'ghcr.io/lab/web:1.0.0', port: 8080}\n",
    fix: "Add `egress: [{cidr: <the database subnets or vpc_cidr>, port: \
<database port>}]` to each service that uses the database, or remove \
`database` if none does.",
    passing: "version: 1\nproject: lab\ncluster:\n  k3s: {version: v1.33.5+k3s1, servers: 1, agents: 2}\n  aws:\n    region: eu-west-1\n    vpc_cidr: 10.0.0.0/16\n    admin_cidrs: [203.0.113.7/32]\n    database: {engine: postgres}\nservices:\n  web:\n    image: ghcr.io/lab/web:1.0.0\n    port: 8080\n    egress: [{cidr: 10.0.0.0/16, port: 5432}]\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    let Some(db) = cx.model.aws.as_ref().and_then(|a| a.database.as_ref()) else {
        return;
    };
    let port = db
        .port
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or_else(|| db_port(db.engine));
    if cx
        .model
        .services
        .iter()
        .any(|s| s.egress.iter().any(|(_, p)| *p == port))
    {
        return;
    }
    out.push(Hit::at_key(
        "/cluster/aws/database",
        format!(
            "no service's `egress` allows port {port}: the NetworkPolicies keep every pod away from the database"
        ),
    ));
}
