//! `gen apply`, `gen diff`, `gen rollback`: argument handling and output.
//! The work is in `gen::ops::apply` (catalog side) and `gen::apply`
//! (network side); this module owns the async runtime, the confirmation
//! prompt and the progress bars.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gen::apply::engine::{self, Options};
use gen::apply::rollback;
use gen::apply::{ApplyError, Change, Cluster, Observer, Report, Rollout};
use gen::ops::apply::{parse_duration, prepare, ClusterOptions, PrepareError, Prepared};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{build_error, report, today, DRIFT, FAILURE, INVALID, OK};

/// Exit code: conflicts, a failed or timed-out rollout.
const NOT_DONE: u8 = 1;

/// Where the objects go.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Kubeconfig context to use [default: the environment's `context`].
    /// Selects the catalog environment whose `context` it is.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Catalog environment to render for (its overrides, its context, its
    /// protection) [default: the one whose `context` is --context].
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Kubeconfig file [default: $KUBECONFIG, else ~/.kube/config].
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Bound on connecting and on each request to the API server.
    #[arg(long, value_name = "DUR", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Policy file for the lint step [default: gen-policy.yaml beside the catalog].
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

impl ClusterArgs {
    fn options(&self, catalog: PathBuf) -> ClusterOptions {
        ClusterOptions {
            catalog,
            policy: self.policy.clone(),
            today: today(),
            context: self.context.clone(),
            env: self.env.clone(),
            kubeconfig: self.kubeconfig.clone(),
            request_timeout: self.request_timeout,
        }
    }
}

/// `gen apply` flags.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Catalog file.
    #[arg(value_name = "CATALOG", default_value = "catalog.yaml")]
    pub catalog: PathBuf,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Server-side dry run (`dryRun=All`): show what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete objects of this project's ApplySet that are no longer in the catalog.
    #[arg(long)]
    pub prune: bool,
    /// Take over fields another field manager owns (server-side apply `force`).
    #[arg(long)]
    pub force_conflicts: bool,
    /// Apply although none of the objects the project's ApplySet holds is in
    /// the catalog (gen refuses that as a second catalog with the same
    /// project); with --prune, those objects are deleted.
    #[arg(long)]
    pub replace_set: bool,
    /// Wait for every Deployment to roll out.
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits.
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Apply to a protected context without asking.
    #[arg(long, short)]
    pub yes: bool,
}

fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            FAILURE
        })
}

/// Exit code of a cluster failure: 2 for configuration (kubeconfig,
/// context, refusal), 1 for an apply that did not finish well (rollout),
/// 3 for the cluster failing (unreachable, credentials, API errors).
fn code(e: &ApplyError) -> u8 {
    match e {
        ApplyError::Kubeconfig { .. }
        | ApplyError::NoContext { .. }
        | ApplyError::BadContext { .. }
        | ApplyError::Refused { .. }
        | ApplyError::Declined
        | ApplyError::Rollback { .. }
        | ApplyError::SharedSet { .. } => INVALID,
        ApplyError::RolloutFailed { .. }
        | ApplyError::RolloutTimeout { .. }
        | ApplyError::JobFailed { .. }
        | ApplyError::JobTimeout { .. } => NOT_DONE,
        ApplyError::Unreachable { .. }
        | ApplyError::Unauthorized { .. }
        | ApplyError::Api { .. } => FAILURE,
    }
}

fn fail(e: &ApplyError, color: bool) -> u8 {
    report(e, color);
    code(e)
}

fn prepared(opts: &ClusterOptions, color: bool) -> Result<Prepared, u8> {
    prepare(opts).map_err(|e| match e {
        PrepareError::Build(b) => build_error(b, color, "nothing was sent to the cluster"),
        e @ PrepareError::Usage { .. } => {
            report(&e, color);
            INVALID
        }
    })
}

/// Print one line per object and the totals; then the conflicts.
fn print_report(r: &Report, quiet_unchanged: bool) {
    let mut out = std::io::stdout().lock();
    let width = r
        .objects
        .iter()
        .map(|o| o.id.to_string().len())
        .max()
        .unwrap_or(0);
    for o in &r.objects {
        if quiet_unchanged && o.change == Change::Unchanged {
            continue;
        }
        let note = o
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:width$}  {}{note}",
            o.id.to_string(),
            o.change.as_str()
        );
    }
    let totals: Vec<String> = r
        .totals()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(w, n)| format!("{n} {w}"))
        .collect();
    let _ = writeln!(
        out,
        "{}{}",
        if r.dry_run { "dry run, would be: " } else { "" },
        if totals.is_empty() {
            "nothing to apply".to_owned()
        } else {
            totals.join(", ")
        }
    );
    drop(out);
    for (id, conflicts) in r.conflicts() {
        eprintln!("conflict: {id}: another field manager owns fields gen sets:");
        for c in conflicts {
            if c.field.is_empty() {
                eprintln!("  {}", c.message);
            } else {
                eprintln!("  {}: {}", c.field, c.message);
            }
        }
    }
    if r.conflicts().next().is_some() {
        eprintln!(
            "help: these objects were not applied. Re-run with --force-conflicts to take the fields over, \
             or remove them from the other manager (e.g. undo a `kubectl edit`/`kubectl scale`)"
        );
    }
}

/// Draws a progress bar per Deployment on a terminal, a line per change
/// elsewhere (CI logs).
struct Bars {
    multi: MultiProgress,
    bars: std::sync::Mutex<std::collections::BTreeMap<String, ProgressBar>>,
    tty: bool,
}

impl Bars {
    fn new() -> Bars {
        let tty = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Bars {
            multi,
            bars: std::sync::Mutex::default(),
            tty,
        }
    }
}

impl Observer for Bars {
    fn rollout(&self, s: &Rollout) {
        let key = format!("{}/{} -n {}", s.kind, s.name, s.namespace);
        if !self.tty {
            eprintln!("{key}: {}", s.message);
            return;
        }
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars.entry(key.clone()).or_insert_with(|| {
            let b = self.multi.add(ProgressBar::new(0));
            b.set_style(
                ProgressStyle::with_template("{prefix:40} [{bar:20}] {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_prefix(key);
            b
        });
        bar.set_length(u64::try_from(s.desired).unwrap_or(0));
        bar.set_position(u64::try_from(s.available).unwrap_or(0));
        bar.set_message(s.message.clone());
        if s.done {
            bar.finish();
        }
    }
}

/// Ask before changing a protected context: why not to go on, if so.
/// Without a terminal there is nobody to ask, so gen refuses.
fn refusal(context: &str, environment: &str, question: &str) -> Option<ApplyError> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Some(ApplyError::Refused {
            context: context.to_owned(),
            environment: environment.to_owned(),
        });
    }
    (!confirm(question)).then_some(ApplyError::Declined)
}

/// Ask on the terminal; anything but `y`/`yes` is no.
fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Prepare the catalog, start the runtime, connect, then run `body`; the
/// exit code.
fn session(
    args: &ClusterArgs,
    catalog: &std::path::Path,
    color: bool,
    body: impl AsyncFnOnce(Prepared, Cluster) -> u8,
) -> u8 {
    let prep = match prepared(&args.options(catalog.to_path_buf()), color) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        match Cluster::connect(&prep.target).await {
            Ok(cluster) => body(prep, cluster).await,
            Err(e) => fail(&e, color),
        }
    })
}

/// `gen apply`.
pub fn run_apply(args: &ApplyArgs, color: bool) -> u8 {
    session(
        &args.cluster,
        &args.catalog,
        color,
        async |prep, cluster| {
            let env = prep
                .environment
                .as_deref()
                .map(|e| format!(", environment {e}"))
                .unwrap_or_default();
            eprintln!(
                "{} to context {} ({}{env}) as field manager gen",
                if args.dry_run { "dry run" } else { "applying" },
                cluster.context,
                cluster.server
            );
            let base = Options {
                dry_run: args.dry_run,
                force_conflicts: args.force_conflicts,
                prune: args.prune,
                replace_set: args.replace_set,
                wait_jobs: (args.wait && !args.dry_run).then_some(args.timeout),
            };
            if let (Some(protector), false) = (&prep.protected, args.dry_run) {
                // Show what would change before touching a protected context.
                let plan = match engine::apply(
                    &cluster,
                    &prep.desired,
                    Options {
                        dry_run: true,
                        ..base
                    },
                )
                .await
                {
                    Ok(p) => p,
                    Err(e) => return fail(&e, color),
                };
                print_report(&plan, true);
                if plan.conflicts().next().is_some() {
                    return NOT_DONE;
                }
                if plan.changed() && !args.yes {
                    let question = format!(
                        "apply these changes to the protected context `{}`?",
                        cluster.context
                    );
                    if let Some(e) = refusal(&cluster.context, protector, &question) {
                        return fail(&e, color);
                    }
                }
            }
            let result = match engine::apply(&cluster, &prep.desired, base).await {
                Ok(r) => r,
                Err(e) => return fail(&e, color),
            };
            print_report(&result, false);
            if result.conflicts().next().is_some() {
                return NOT_DONE;
            }
            if args.wait && !args.dry_run {
                let bars = Bars::new();
                if let Err(e) =
                    gen::apply::wait::wait(&cluster, &prep.desired, &result, args.timeout, &bars)
                        .await
                {
                    return fail(&e, color);
                }
                eprintln!("every deployment and statefulset rolled out");
            }
            OK
        },
    )
}

/// `gen diff` flags.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Catalog file.
    #[arg(value_name = "CATALOG", default_value = "catalog.yaml")]
    pub catalog: PathBuf,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

fn colourize(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_owned();
    }
    diff.lines()
        .map(|l| {
            if l.starts_with("+++") || l.starts_with("---") {
                format!("\x1b[1m{l}\x1b[0m\n")
            } else if l.starts_with('+') {
                format!("\x1b[32m{l}\x1b[0m\n")
            } else if l.starts_with('-') {
                format!("\x1b[31m{l}\x1b[0m\n")
            } else if l.starts_with("@@") {
                format!("\x1b[36m{l}\x1b[0m\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// `gen diff`: live versus desired; exit 1 when they differ.
pub fn run_diff(args: &DiffArgs, color: bool) -> u8 {
    let diff_color = match std::env::var_os("NO_COLOR") {
        Some(v) if !v.is_empty() => false,
        _ => color || std::io::stdout().is_terminal(),
    };
    session(
        &args.cluster,
        &args.catalog,
        color,
        async |prep, cluster| {
            let plan = match engine::apply(
                &cluster,
                &prep.desired,
                Options {
                    dry_run: true,
                    force_conflicts: false,
                    prune: true,
                    replace_set: false,
                    wait_jobs: None,
                },
            )
            .await
            {
                Ok(p) => p,
                Err(e) => return fail(&e, color),
            };
            let mut out = std::io::stdout().lock();
            let mut differ = 0usize;
            for o in &plan.objects {
                if let Some(d) = gen::apply::diff::object(o) {
                    differ += 1;
                    let _ = write!(out, "{}", colourize(&d, diff_color));
                }
            }
            drop(out);
            for (id, conflicts) in plan.conflicts() {
                differ += 1;
                for c in conflicts {
                    eprintln!("conflict: {id}: {} {}", c.field, c.message);
                }
            }
            if differ == 0 {
                eprintln!(
                    "no drift: the cluster of context {} matches the catalog ({} objects)",
                    cluster.context,
                    prep.desired.objects.len()
                );
                OK
            } else {
                eprintln!(
                "drift: {differ} object(s) differ between the cluster of context {} and the catalog; `gen apply --context {}` reconciles them",
                cluster.context, cluster.context
            );
                DRIFT
            }
        },
    )
}

/// `gen rollback` flags.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The service to roll back.
    pub service: String,
    /// Catalog file.
    #[arg(long, value_name = "CATALOG", default_value = "catalog.yaml")]
    pub catalog: PathBuf,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Deployment revision to go back to [default: the previous one].
    #[arg(long, value_name = "N")]
    pub to_revision: Option<u64>,
    /// Roll back on a protected context without asking.
    #[arg(long, short)]
    pub yes: bool,
}

/// `gen rollback`.
pub fn run_rollback(args: &RollbackArgs, color: bool) -> u8 {
    session(
        &args.cluster,
        &args.catalog,
        color,
        async |prep, cluster| {
            if let (Some(protector), false) = (&prep.protected, args.yes) {
                let question = format!(
                    "roll back service `{}` on the protected context `{}`?",
                    args.service, cluster.context
                );
                if let Some(e) = refusal(&cluster.context, protector, &question) {
                    return fail(&e, color);
                }
            }
            match rollback::rollback(&cluster, &prep.desired, &args.service, args.to_revision).await
            {
                Ok(done) => {
                    println!(
                        "{}: rolled back from {} to {}",
                        done.what, done.from, done.to
                    );
                    eprintln!(
                    "note: the catalog still describes the newer state; the next `gen apply` rolls forward again unless you change it"
                );
                    OK
                }
                Err(e) => fail(&e, color),
            }
        },
    )
}
