//! The integration-test binary: the corpus (`tests/cases/**/*.tess`, one test per file), the
//! command line, and properties of the standard library.

mod circuits;
mod cli;
mod corpus;
mod gss;
mod limits;
mod pointer;
mod props;
mod repl;
mod tutorial;

/// Runs the `tessera` binary in the repository root (candle on one thread): exit code, stdout,
/// stderr.
pub fn tessera(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("the tessera binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
