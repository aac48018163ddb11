//! Command-line interface: clap definitions, dispatch to `gen::ops`, and
//! rendering of results and diagnostics (the only place that prints).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use gen::lint::Severity;
use gen::ops::{self, BuildError, BuildOptions, BuildOutcome, LintError, LintOptions};
use gen::{CompileError, Problems};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

mod cluster;

/// Exit code: success.
const OK: u8 = 0;
/// Exit code: `--check` found drift.
const DRIFT: u8 = 1;
/// Exit code: lint found errors.
const LINT: u8 = 1;
/// Exit code: invalid catalog or usage.
const INVALID: u8 = 2;
/// Exit code: I/O failure or internal error.
const FAILURE: u8 = 3;

const EXAMPLES: &str = "\
Examples:
  gen build                                   # ./catalog.yaml -> ./out/
  gen build examples/karina/catalog.yaml      # -> examples/karina/out/
  gen build catalog.yaml --out build/k8s      # choose the output directory
  gen build --check                           # exit 1 and show a diff if out/ is stale
  gen build --check */catalog.yaml            # several catalogs, each with out/ beside it
  gen build --env prod --out /tmp/prod        # render and lint only the prod environment
  gen lint --format sarif > gen.sarif         # policy findings for code scanning
  gen rules; gen explain replicas-routed      # the lint rules and their docs
  gen schema > catalog.schema.json            # JSON Schema for editors
  gen init my-project                         # a commented starter catalog
  gen completions bash > /etc/bash_completion.d/gen
  gen man | man -l -                          # this manual as a man page
  gen diff --context prod                     # live vs catalog; exit 1 on drift
  gen apply --context prod --prune --wait     # server-side apply, prune, watch rollouts
  gen rollback api --context prod             # back to the previous ReplicaSet / colour

Exit codes: 0 ok, 1 --check or diff found drift, lint found errors, apply conflicts or a
failed rollout, 2 invalid catalog, usage, kubeconfig or context, or a refused protected
context, 3 I/O or internal error, or the cluster unreachable or refusing credentials.";

/// `gen --version`: the version of Cargo.toml and the commit it was built
/// from (`unknown` when the source carried none; see build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GEN_COMMIT"),
    ")"
);

/// gen compiles one service catalog into Helm charts, rendered Kubernetes
/// manifests, K3s bootstrap scripts and AWS security groups.
#[derive(Debug, Parser)]
#[command(name = "gen", version = VERSION, about, after_help = EXAMPLES)]
struct Cli {
    /// When to use colour in diagnostics (NO_COLOR is respected).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RulesFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    fn severity(self) -> Severity {
        match self {
            Level::Info => Severity::Info,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        }
    }
}

/// Today (UTC) as `YYYY-MM-DD`; `GEN_TODAY` overrides it (tests, replays).
fn today() -> String {
    if let Ok(t) = std::env::var("GEN_TODAY") {
        return t;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile the catalog and write the output tree atomically.
    #[command(
        after_help = "Examples:\n  gen build\n  gen build examples/msa-k3s/catalog.yaml --out /tmp/msa\n  gen build --check   # for CI and pre-commit: exit 1 with a diff when stale\n  gen build --check */catalog.yaml   # several catalogs, each with out/ beside it\n  gen build --env prod --out /tmp/prod   # only prod under environments/\n\nWith several catalogs each is built in turn and the exit code is the worst of them.\n\nEnvironments: manifests/ is the charts' default render; environments/<env>/manifests/\nis the render with values-<env>.yaml, for every environment of the catalog (only\nthose named with --env, which also limits linting to them). Every chart carries\nevery environment's values file either way."
    )]
    Build {
        /// Catalog file(s); each gets its own output tree.
        #[arg(value_name = "CATALOG", default_value = "catalog.yaml")]
        catalogs: Vec<PathBuf>,
        /// Output directory [default: out/ beside the catalog]; one catalog only.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 and print a unified diff when the output is stale.
        #[arg(long)]
        check: bool,
        /// Policy file for the lint step [default: gen-policy.yaml beside the catalog].
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Write the output even when lint reports errors.
        #[arg(long)]
        allow_lint_errors: bool,
        /// Render and lint only this environment (repeatable) [default: every environment].
        #[arg(long = "env", value_name = "ENV")]
        environments: Vec<String>,
    },
    /// Check the catalog and everything gen derives from it against policy.
    #[command(
        after_help = "Examples:\n  gen lint\n  gen lint examples/msa-k3s/catalog.yaml --format sarif > gen.sarif\n  gen lint --format github          # annotations in GitHub Actions\n  gen lint --severity warning       # hide info findings\n  gen lint a/catalog.yaml b/catalog.yaml   # several catalogs (human or github format)\n\nExit codes: 0 no error finding, 1 error findings, 2 invalid catalog, policy or usage."
    )]
    Lint {
        /// Catalog file(s); several only with --format human or github.
        #[arg(value_name = "CATALOG", default_value = "catalog.yaml")]
        catalogs: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Show findings at this severity or above.
        #[arg(long, value_enum, default_value_t = Level::Info)]
        severity: Level,
        /// Policy file [default: gen-policy.yaml beside the catalog].
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// List the lint rules.
    #[command(after_help = "Examples:\n  gen rules\n  gen rules --format json")]
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Print the documentation of a lint rule.
    #[command(after_help = "Example:\n  gen explain replicas-routed")]
    Explain {
        /// Rule id (see `gen rules`).
        rule: String,
    },
    /// Print the catalog JSON Schema (the same as schemas/catalog.schema.json).
    #[command(
        after_help = "Example:\n  gen schema > catalog.schema.json\n  # then start the catalog with:\n  # yaml-language-server: $schema=./catalog.schema.json"
    )]
    Schema,
    /// Write a commented starter catalog (DIR/catalog.yaml) and its schema.
    #[command(
        after_help = "Examples:\n  gen init               # ./catalog.yaml\n  gen init my-project    # my-project/catalog.yaml (the directory is created)\n\nAn existing catalog.yaml is never overwritten (exit 2). catalog.schema.json is\nwritten beside it for editor completion, unless that file exists."
    )]
    Init {
        /// Directory to create the catalog in.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  gen completions bash > ~/.local/share/bash-completion/completions/gen\n  gen completions zsh > ~/.zfunc/_gen\n  gen completions fish > ~/.config/fish/completions/gen.fish"
    )]
    Completions {
        /// Shell to generate for.
        shell: clap_complete::Shell,
    },
    /// Server-side apply the manifests to a cluster (lints first; prunes, waits).
    #[command(
        after_help = "Examples:\n  gen apply --context staging\n  gen apply --env prod --wait                 # the prod environment, on its context\n  gen apply --context prod --dry-run          # server-side dry run: what would change\n  gen apply --context prod --prune --wait --yes\n  gen apply examples/msa-k3s/catalog.yaml --context k3s --kubeconfig k3s.yaml\n\nEvery object is sent as a server-side apply (fieldManager=gen) in dependency order and\nlabelled as a member of the project's ApplySet; --prune deletes members no longer in the\ncatalog (never Namespaces). A set none of whose objects is in the catalog is refused as\nanother catalog's (--replace-set overrides). A protected environment's context shows the change summary\nand asks for confirmation; without a terminal it needs --yes.\n\nExit codes: 0 applied (and rolled out), 1 lint errors, conflicts or a failed/timed-out\nrollout, 2 invalid catalog, kubeconfig or context, a shared ApplySet, or confirmation\nrefused, 3 API server\nunreachable, credentials rejected or an API error."
    )]
    Apply(cluster::ApplyArgs),
    /// Show how the cluster differs from the catalog (exit 1 when it does).
    #[command(
        after_help = "Examples:\n  gen diff --context prod\n  gen diff --context prod --color never > drift.diff   # a drift check in CI\n\nThe desired side is the server's own dry-run of the apply, so defaults and other\nmanagers' fields do not show as drift; managed fields and status are stripped, and Secret\nvalues are always redacted. Objects that `gen apply --prune` would delete show as removed.\n\nExit codes: 0 no drift, 1 drift, 2 invalid catalog, kubeconfig or context, 3 cluster errors."
    )]
    Diff(cluster::DiffArgs),
    /// Roll back a service: previous ReplicaSet, other colour, or canary off.
    #[command(
        after_help = "Examples:\n  gen rollback api --context prod                  # previous revision\n  gen rollback api --context prod --to-revision 3\n  gen rollback web --context prod                  # blue-green: switch the colour back\n  gen rollback search --context prod               # canary: 0% of requests, canary scaled to 0\n\nThe catalog still describes the newer state afterwards: fix it, or the next `gen apply`\nrolls forward again.\n\nExit codes: 0 rolled back, 2 nothing to roll back to or unknown service, 3 cluster errors."
    )]
    Rollback(cluster::RollbackArgs),
    /// Print gen's man page (roff), or write one page per command into a directory.
    #[command(
        after_help = "Examples:\n  gen man | man -l -\n  gen man --out /usr/local/share/man/man1   # gen.1, gen-build.1, ..."
    )]
    Man {
        /// Write gen.1 and a gen-<command>.1 page per command into DIR instead.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

fn use_color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

fn handler(color: bool) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let width = if std::io::stderr().is_terminal() {
        terminal_width().unwrap_or(100)
    } else {
        100
    };
    GraphicalReportHandler::new_themed(theme).with_width(width)
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}

fn render(diag: &dyn Diagnostic, color: bool) -> String {
    let mut s = String::new();
    // Long lines (one-line JSON catalogs) are cut around the labels.
    if handler(color)
        .render_report(&mut s, &gen::excerpt::clip(diag))
        .is_err()
    {
        s = format!("error: {diag}\n");
    }
    s
}

fn report_problems(problems: &Problems, color: bool) {
    report_problems_then(problems, color, "nothing was written");
}

fn report_problems_then(problems: &Problems, color: bool, nothing: &str) {
    let mut err = std::io::stderr().lock();
    for p in problems.iter() {
        let _ = write!(err, "{}", render(p, color));
        let _ = writeln!(err);
    }
    let _ = writeln!(err, "error: {problems}; {nothing}");
}

fn report(diag: &dyn Diagnostic, color: bool) {
    let _ = write!(std::io::stderr().lock(), "{}", render(diag, color));
}

/// Parse arguments, run the command, return the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { INVALID } else { OK });
        }
    };
    let color = use_color(cli.color);
    let code = match cli.command {
        Command::Build {
            catalogs,
            out,
            check,
            policy,
            allow_lint_errors,
            environments,
        } => {
            if out.is_some() && catalogs.len() > 1 {
                return usage_error("build", "--out takes a single catalog; each of several catalogs is built into out/ beside it");
            }
            let today = today();
            worst(catalogs.into_iter().map(|catalog| {
                run_build(
                    BuildOptions {
                        catalog,
                        out: out.clone(),
                        check,
                        policy: policy.clone(),
                        allow_lint_errors,
                        today: today.clone(),
                        environments: environments.clone(),
                    },
                    color,
                )
            }))
        }
        Command::Lint {
            catalogs,
            format,
            severity,
            policy,
        } => {
            let several = catalogs.len() > 1;
            if several && matches!(format, Format::Json | Format::Sarif) {
                return usage_error("lint", "--format json and sarif describe a single catalog; lint several catalogs with --format human or github, or run gen lint once per catalog");
            }
            let today = today();
            worst(catalogs.into_iter().map(|catalog| {
                run_lint(
                    &LintOptions {
                        catalog,
                        policy: policy.clone(),
                        today: today.clone(),
                    },
                    format,
                    severity.severity(),
                    several,
                    color,
                )
            }))
        }
        Command::Apply(args) => cluster::run_apply(&args, color),
        Command::Diff(args) => cluster::run_diff(&args, color),
        Command::Rollback(args) => cluster::run_rollback(&args, color),
        Command::Init { dir } => run_init(&dir, color),
        Command::Man { out } => run_man(out.as_deref()),
        Command::Rules { format } => {
            match format {
                RulesFormat::Text => print!("{}", gen::lint::format::rules_text()),
                RulesFormat::Json => print!("{}", gen::lint::format::rules_json()),
            }
            OK
        }
        Command::Explain { rule } => match gen::lint::find(&rule) {
            Some(r) => {
                print!("{}", gen::lint::format::explain(r));
                OK
            }
            None => {
                let ids: Vec<&str> = gen::lint::all().iter().map(|r| r.id).collect();
                let hint = gen::catalog::schema::closest(&rule, ids.iter().copied())
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                eprintln!("error: no rule `{rule}`{hint}; `gen rules` lists every rule");
                INVALID
            }
        },
        Command::Schema => {
            print!("{}", gen::catalog::schema::schema_text());
            OK
        }
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "gen", &mut std::io::stdout());
            OK
        }
    };
    ExitCode::from(code)
}

/// Report a usage error of `subcommand` the way clap does (to stderr, exit 2).
fn usage_error(subcommand: &str, message: &str) -> ExitCode {
    let mut cli = Cli::command();
    cli.build();
    let mut cmd = cli.find_subcommand(subcommand).cloned().unwrap_or(cli);
    let _ = cmd.error(ErrorKind::ArgumentConflict, message).print();
    ExitCode::from(INVALID)
}

/// Run every command (none is skipped after a failure) and return the worst
/// exit code: 3 > 2 > 1 > 0.
fn worst(codes: impl Iterator<Item = u8>) -> u8 {
    codes.fold(OK, u8::max)
}

fn run_init(dir: &Path, color: bool) -> u8 {
    match ops::init(dir) {
        Ok(done) => {
            eprintln!("wrote {}", done.catalog.display());
            if done.schema_written {
                eprintln!("wrote {}", done.schema.display());
            } else {
                eprintln!(
                    "kept {} (run `gen schema > {}` to refresh it)",
                    done.schema.display(),
                    done.schema.display()
                );
            }
            let build = if dir == Path::new(".") {
                "gen build".to_owned()
            } else {
                format!("gen build {}", done.catalog.display())
            };
            eprintln!("next: edit it, then `{build}`");
            OK
        }
        Err(e @ ops::InitError::Exists(_)) => {
            report(&e, color);
            INVALID
        }
        Err(e) => {
            report(&e, color);
            FAILURE
        }
    }
}

/// `gen man`: the top-level page to stdout, or every page into `out`.
fn run_man(out: Option<&Path>) -> u8 {
    let cmd = Cli::command();
    let result = match out {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout().lock()),
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map(|()| eprintln!("wrote the man pages to {}", dir.display())),
    };
    match result {
        Ok(()) => OK,
        // `gen man | head`: the reader has seen enough.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => OK,
        Err(e) => {
            eprintln!("error: cannot write the man page: {e}");
            FAILURE
        }
    }
}

fn summary(report: &gen::lint::Report) -> String {
    let c = report.counts();
    let n = |s: Severity| c.get(&s).copied().unwrap_or(0);
    format!(
        "{} error(s), {} warning(s), {} info",
        n(Severity::Error),
        n(Severity::Warning),
        n(Severity::Info)
    )
}

fn print_findings(report: &gen::lint::Report, min: Severity, color: bool) {
    let mut err = std::io::stderr().lock();
    for f in report.findings.iter().filter(|f| f.severity >= min) {
        let _ = write!(err, "{}", render(&f.problem, color));
        let _ = writeln!(err);
    }
}

/// Print `report` on stdout in a machine format (nothing for `human`).
fn print_machine(report: &gen::lint::Report, format: Format) {
    match format {
        Format::Human => {}
        Format::Json => print!("{}", gen::lint::format::json(report)),
        Format::Sarif => print!(
            "{}",
            gen::lint::format::sarif(report, env!("CARGO_PKG_VERSION"))
        ),
        Format::Github => print!("{}", gen::lint::format::github(report)),
    }
}

fn run_lint(opts: &LintOptions, format: Format, min: Severity, several: bool, color: bool) -> u8 {
    match ops::lint(opts) {
        Ok(mut report) => {
            let errors = report.has_errors();
            report.findings.retain(|f| f.severity >= min);
            if let Format::Human = format {
                print_findings(&report, min, color);
                if several {
                    eprintln!("lint: {}: {}", opts.catalog.display(), summary(&report));
                } else {
                    eprintln!("lint: {}", summary(&report));
                }
            } else {
                print_machine(&report, format);
            }
            if errors {
                LINT
            } else {
                OK
            }
        }
        Err(LintError::Compile(CompileError::Catalog(problems)) | LintError::Policy(problems)) => {
            // Machine formats carry the refusal too (CI annotations, code
            // scanning); the diagnostics still go to stderr for the log.
            print_machine(&gen::lint::format::refused(&problems), format);
            report_problems(&problems, color);
            INVALID
        }
        Err(e @ LintError::Read { .. }) => {
            report(&e, color);
            INVALID
        }
        Err(e) => {
            report(&e, color);
            FAILURE
        }
    }
}

fn run_build(opts: BuildOptions, color: bool) -> u8 {
    match ops::build(&opts) {
        Ok(BuildOutcome::Written {
            out,
            files,
            services,
            environments,
            report,
        }) => {
            let envs = if environments.is_empty() {
                String::new()
            } else {
                let noun = if environments.len() == 1 {
                    "environment"
                } else {
                    "environments"
                };
                format!(" and {noun} {}", environments.join(", "))
            };
            eprintln!(
                "wrote {files} files for {services} services{envs} to {}",
                out.display()
            );
            if !report.findings.is_empty() {
                eprintln!("lint: {}; run `gen lint` for details", summary(&report));
            }
            OK
        }
        Ok(BuildOutcome::UpToDate { out, files }) => {
            eprintln!("{} is up to date ({files} files)", out.display());
            OK
        }
        Ok(BuildOutcome::Drifted { out, drift }) => {
            let mut stdout = std::io::stdout().lock();
            for (_, diff) in &drift.stale {
                let _ = write!(stdout, "{diff}");
            }
            drop(stdout);
            for (path, _) in &drift.stale {
                eprintln!("stale:   {}/{path}", out.display());
            }
            for path in &drift.missing {
                eprintln!("missing: {}/{path}", out.display());
            }
            for path in &drift.extra {
                eprintln!("extra:   {}/{path}", out.display());
            }
            eprintln!(
                "error: {} is out of date ({} stale, {} missing, {} extra); run `gen build` to update it",
                out.display(),
                drift.stale.len(),
                drift.missing.len(),
                drift.extra.len()
            );
            DRIFT
        }
        Err(e) => build_error(e, color, "nothing was written"),
    }
}

/// Report why a catalog could not be built (or sent); the exit code.
fn build_error(e: BuildError, color: bool, nothing: &str) -> u8 {
    match e {
        BuildError::Compile(CompileError::Catalog(problems)) => {
            report_problems_then(&problems, color, nothing);
            INVALID
        }
        BuildError::Policy(problems) => {
            report_problems_then(&problems, color, nothing);
            INVALID
        }
        BuildError::Lint(report) => {
            print_findings(&report, Severity::Error, color);
            eprintln!(
                "error: lint found {}; {nothing} (fix or waive them{})",
                summary(&report),
                if nothing == "nothing was written" {
                    ", or pass --allow-lint-errors"
                } else {
                    ""
                }
            );
            LINT
        }
        e @ (BuildError::Read { .. }
        | BuildError::Compile(CompileError::UnknownEnvironment { .. })) => {
            report(&e, color);
            INVALID
        }
        e @ BuildError::Write(
            gen::write::WriteError::NotOurs(_)
            | gen::write::WriteError::NotADirectory(_)
            | gen::write::WriteError::Symlink(_)
            | gen::write::WriteError::ContainsInput { .. },
        ) => {
            report(&e, color);
            INVALID
        }
        e => {
            report(&e, color);
            FAILURE
        }
    }
}
