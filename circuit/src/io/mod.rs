//! Reading and writing circuits: AIGER (ASCII and binary), BLIF, BENCH, IWLS `.truth` and
//! structural Verilog. Every reader reports the line (and what it expected) on bad input.

pub mod aiger;
pub mod netlist;
pub mod truth;
pub mod verilog;

use crate::CircuitError;
use crate::aig::Aig;
use std::path::Path;

/// A position in a file for error messages.
#[derive(Clone, Copy, Debug)]
pub struct Loc<'a> {
    pub file: &'a str,
    pub line: usize,
}

pub(crate) fn fail(loc: Loc, msg: &str) -> CircuitError {
    CircuitError::Parse {
        file: loc.file.to_string(),
        line: loc.line,
        msg: msg.to_string(),
    }
}

/// The file formats, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Aig,
    Aag,
    Blif,
    Bench,
    Truth,
    Verilog,
}

impl Format {
    pub fn from_path(path: &Path) -> Result<Format, CircuitError> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        Ok(match ext {
            "aig" => Format::Aig,
            "aag" => Format::Aag,
            "blif" => Format::Blif,
            "bench" => Format::Bench,
            "truth" => Format::Truth,
            "v" => Format::Verilog,
            _ => {
                return Err(CircuitError::Usage(format!(
                    "{}: unknown circuit format `.{ext}` (expected .aig, .aag, .blif, .bench, .truth or .v)",
                    path.display()
                )));
            }
        })
    }
}

/// Parses circuit text in `format`; `file` names it in errors. Truth tables are synthesised
/// into an AIG with [`crate::synth::from_tables`].
pub fn parse(data: &[u8], format: Format, file: &str) -> Result<Aig, CircuitError> {
    match format {
        Format::Aig | Format::Aag => aiger::read(data, file),
        Format::Blif => netlist::read_blif(text(data, file)?, file),
        Format::Bench => netlist::read_bench(text(data, file)?, file),
        Format::Verilog => verilog::read(text(data, file)?, file),
        Format::Truth => {
            let tables = truth::read(text(data, file)?, file)?;
            Ok(crate::synth::from_tables(&tables))
        }
    }
}

fn text<'a>(data: &'a [u8], file: &str) -> Result<&'a str, CircuitError> {
    std::str::from_utf8(data).map_err(|e| {
        let line = data[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        fail(Loc { file, line }, "this file is not UTF-8 text")
    })
}

/// Renders `g` in `format`.
pub fn render(g: &Aig, format: Format) -> Result<Vec<u8>, CircuitError> {
    Ok(match format {
        Format::Aig => aiger::write_binary(g),
        Format::Aag => aiger::write_ascii(g),
        Format::Blif => netlist::write_blif(g).into_bytes(),
        Format::Bench => netlist::write_bench(g)?.into_bytes(),
        Format::Verilog => verilog::write(g).into_bytes(),
        Format::Truth => truth::write(g)?.into_bytes(),
    })
}

/// Reads a circuit file, the format chosen by its extension.
pub fn read_file(path: &Path) -> Result<Aig, CircuitError> {
    let format = Format::from_path(path)?;
    let data = std::fs::read(path)
        .map_err(|e| CircuitError::Io(format!("cannot read {}: {e}", path.display())))?;
    parse(&data, format, &path.display().to_string())
}

/// Writes a circuit file atomically (a temporary file in the same folder, then a rename), the
/// format chosen by the extension.
pub fn write_file(path: &Path, g: &Aig) -> Result<(), CircuitError> {
    let bytes = render(g, Format::from_path(path)?)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("circuit");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let io = |e: std::io::Error| CircuitError::Io(format!("cannot write {}: {e}", path.display()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Unique, format-safe names for inputs, outputs and internal nodes (`valid` says whether a
/// user name can be kept).
pub(crate) struct Names {
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

pub(crate) fn names(g: &Aig, valid: impl Fn(&str) -> bool) -> Names {
    let mut used = std::collections::HashSet::new();
    let mut pick = |name: Option<&str>, fallback: String| {
        let mut n = match name {
            Some(n) if valid(n) && !n.starts_with("_n") => n.to_string(),
            _ => fallback,
        };
        while !used.insert(n.clone()) {
            n.push('_');
        }
        n
    };
    let inputs = (0..g.num_inputs())
        .map(|i| pick(g.input_name(i), format!("i{i}")))
        .collect();
    let outputs = (0..g.num_outputs())
        .map(|i| pick(g.output_name(i), format!("o{i}")))
        .collect();
    Names { inputs, outputs }
}
