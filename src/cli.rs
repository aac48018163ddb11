//! Command-line interface: clap definitions, dispatch to `gen::ops`, and
//! rendering of results and diagnostics (the only place that prints).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use gen::ops::{self, BuildError, BuildOptions, BuildOutcome};
use gen::{CompileError, Problems};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

/// Exit code: success.
const OK: u8 = 0;
/// Exit code: `--check` found drift.
const DRIFT: u8 = 1;
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
  gen schema > catalog.schema.json            # JSON Schema for editors
  gen completions bash > /etc/bash_completion.d/gen

Exit codes: 0 ok, 1 --check found drift, 2 invalid catalog or usage, 3 I/O or internal error.";

/// gen compiles one service catalog into Helm charts, rendered Kubernetes
/// manifests, K3s bootstrap scripts and AWS security groups.
#[derive(Debug, Parser)]
#[command(name = "gen", version, about, after_help = EXAMPLES)]
struct Cli {
    /// When to use colour in diagnostics (NO_COLOR is respected).
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
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
        after_help = "Examples:\n  gen build\n  gen build examples/msa-k3s/catalog.yaml --out /tmp/msa\n  gen build --check   # for CI and pre-commit: exit 1 with a diff when stale"
    )]
    Build {
        /// Catalog file.
        #[arg(default_value = "catalog.yaml")]
        catalog: PathBuf,
        /// Output directory [default: out/ beside the catalog].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 and print a unified diff when the output is stale.
        #[arg(long)]
        check: bool,
    },
    /// Print the catalog JSON Schema (the same as schemas/catalog.schema.json).
    #[command(
        after_help = "Example:\n  gen schema > catalog.schema.json\n  # then start the catalog with:\n  # yaml-language-server: $schema=./catalog.schema.json"
    )]
    Schema,
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  gen completions bash > ~/.local/share/bash-completion/completions/gen\n  gen completions zsh > ~/.zfunc/_gen\n  gen completions fish > ~/.config/fish/completions/gen.fish"
    )]
    Completions {
        /// Shell to generate for.
        shell: clap_complete::Shell,
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
    if handler(color).render_report(&mut s, diag).is_err() {
        s = format!("error: {diag}\n");
    }
    s
}

fn report_problems(problems: &Problems, color: bool) {
    let mut err = std::io::stderr().lock();
    for p in problems.iter() {
        let _ = write!(err, "{}", render(p, color));
        let _ = writeln!(err);
    }
    let _ = writeln!(err, "error: {problems}; nothing was written");
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
            catalog,
            out,
            check,
        } => run_build(
            BuildOptions {
                catalog,
                out,
                check,
            },
            color,
        ),
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

fn run_build(opts: BuildOptions, color: bool) -> u8 {
    match ops::build(&opts) {
        Ok(BuildOutcome::Written {
            out,
            files,
            services,
        }) => {
            eprintln!(
                "wrote {files} files for {services} services to {}",
                out.display()
            );
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
        Err(BuildError::Compile(CompileError::Catalog(problems))) => {
            report_problems(&problems, color);
            INVALID
        }
        Err(e @ BuildError::Read { .. }) => {
            report(&e, color);
            INVALID
        }
        Err(
            e @ BuildError::Write(
                gen::write::WriteError::NotOurs(_)
                | gen::write::WriteError::NotADirectory(_)
                | gen::write::WriteError::Symlink(_),
            ),
        ) => {
            report(&e, color);
            INVALID
        }
        Err(e) => {
            report(&e, color);
            FAILURE
        }
    }
}
