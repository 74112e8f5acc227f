//! The `tessera` command line.

use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use tessera::{Error, ErrorKind, Session};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Symbolic-neural reasoning engine: RASP and VSA programs"
)]
struct Cli {
    /// Machine-readable output (results and diagnostics as JSON on stdout).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program in the reference interpreter.
    Run {
        /// The program (optional with `--entry std::...`).
        file: Option<PathBuf>,
        /// The function to run (default `main`).
        #[arg(long)]
        entry: Option<String>,
        /// Whitespace-separated input tokens (otherwise read from stdin when it is not a terminal).
        #[arg(long)]
        input: Option<String>,
        /// Set a scalar (or list) parameter of the entry: `--arg k=2`, `--arg 'p=[a, b]'`.
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
    },
    /// Parse and type-check a program; print diagnostics only.
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                println!("{}", e.to_json());
            } else {
                eprint!("{}", e.render(std::io::stderr().is_terminal()));
            }
            ExitCode::from(match e.kind {
                ErrorKind::Program => 1,
                ErrorKind::Usage => 2,
            })
        }
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Run {
            file,
            entry,
            input,
            args,
        } => {
            let session = match &file {
                Some(f) => Session::from_file(f)?,
                None => match &entry {
                    Some(e) if e.contains("::") => Session::stdlib(),
                    _ => {
                        return Err(Error::usage(
                            "give a program file, or `--entry std::MODULE::NAME`",
                        ));
                    }
                },
            };
            let entry = entry.unwrap_or_else(|| "main".to_string());
            let input = match input {
                Some(i) => Some(i),
                None => read_stdin()?,
            };
            let mut pairs = Vec::new();
            for a in &args {
                match a.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        pairs.push((k.trim().to_string(), v.to_string()))
                    }
                    _ => {
                        return Err(Error::usage(format!(
                            "`--arg {a}`: write `--arg name=value`"
                        )));
                    }
                }
            }
            let out = session.run(&entry, input.as_deref(), &pairs)?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "output": out.to_json()})
                );
            } else {
                println!("{}", out.render());
            }
            Ok(())
        }
        Command::Check { file } => {
            let session = Session::from_file(&file)?;
            if cli.json {
                println!("{}", serde_json::json!({"ok": true, "diagnostics": []}));
            } else {
                eprintln!("{}: ok", file.display());
            }
            let _ = session;
            Ok(())
        }
    }
}

fn read_stdin() -> Result<Option<String>, Error> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut s = String::new();
    match stdin.lock().read_to_string(&mut s) {
        Ok(0) => Ok(None),
        Ok(_) => Ok(Some(s)),
        Err(e) => Err(Error::usage(format!(
            "cannot read the input from stdin: {e}"
        ))),
    }
}
