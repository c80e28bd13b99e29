//! The `source-atlassian-admin` command line: parse arguments, run one protocol command,
//! exit with its code.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use source_atlassian_admin::commands;
use source_atlassian_admin::protocol::Output;

/// Airbyte source for the Atlassian Cloud Organizations (Admin) API.
///
/// Every command prints Airbyte protocol messages, one JSON object per line, on stdout.
#[derive(Parser)]
#[command(name = "source-atlassian-admin", version, about, long_about, after_long_help = source_atlassian_admin::streams::help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the connector's specification (the config it accepts).
    Spec {
        #[arg(hide = true)]
        ignored: Vec<String>,
    },
    /// Validate a config and test the API key and organization against the API.
    Check {
        /// Path to the config JSON file.
        #[arg(long)]
        config: PathBuf,
        #[arg(hide = true)]
        ignored: Vec<String>,
    },
    /// Print the catalog of streams this connector offers.
    Discover {
        /// Path to the config JSON file.
        #[arg(long)]
        config: PathBuf,
        #[arg(hide = true)]
        ignored: Vec<String>,
    },
    /// Read the streams of a configured catalog, emitting records and state.
    Read {
        /// Path to the config JSON file.
        #[arg(long)]
        config: PathBuf,
        /// Path to the configured catalog JSON file.
        #[arg(long)]
        catalog: PathBuf,
        /// Path to a state JSON file (an array of state messages) from a previous read.
        #[arg(long)]
        state: Option<PathBuf>,
        #[arg(hide = true)]
        ignored: Vec<String>,
    },
}

/// Flags this connector knows; any other `--flag` is dropped with a warning, as the protocol asks.
const KNOWN_FLAGS: &[&str] = &["--config", "--catalog", "--state", "--help", "-h", "--version", "-V"];

fn known_args() -> Vec<String> {
    std::env::args()
        .enumerate()
        .filter(|(i, a)| {
            let name = a.split('=').next().unwrap_or(a);
            let keep = *i < 2 || !a.starts_with('-') || KNOWN_FLAGS.contains(&name);
            if !keep {
                eprintln!("source-atlassian-admin: ignoring unknown flag {name}");
            }
            keep
        })
        .map(|(_, a)| a)
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(known_args());
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("source-atlassian-admin: {e:#}");
            ExitCode::from(commands::EXIT_FAILED)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    let mut out = Output::stdout();
    match cli.command {
        Command::Spec { .. } => commands::spec(&mut out),
        Command::Discover { config, .. } => commands::discover(&mut out, &config),
        Command::Check { config, .. } => runtime()?.block_on(commands::check(&mut out, &config)),
        Command::Read { config, catalog, state, .. } => {
            runtime()?.block_on(commands::read(&mut out, &config, &catalog, state.as_deref()))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}
