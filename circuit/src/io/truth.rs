//! The IWLS contest `.truth` format: one line per output, `2^n` characters `0`/`1`, the most
//! significant minterm first (minterm `m` has input `i` = bit `i` of `m`).

use super::{Loc, fail};
use crate::CircuitError;
use crate::aig::Aig;
use crate::tt::{MAX_VARS, Tt};

pub fn read(text: &str, file: &str) -> Result<Vec<Tt>, CircuitError> {
    let mut tables = Vec::new();
    let mut width: Option<(usize, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc { file, line: i + 1 };
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(p) = line.find(|c| c != '0' && c != '1') {
            return Err(fail(
                loc,
                &format!(
                    "expected only `0` and `1`, found `{}` at column {}",
                    &line[p..].chars().next().unwrap_or(' '),
                    p + 1
                ),
            ));
        }
        let len = line.len();
        if !len.is_power_of_two() {
            return Err(fail(loc, &format!("expected 2^n characters, found {len}")));
        }
        let n = len.trailing_zeros() as usize;
        if n > MAX_VARS {
            return Err(fail(
                loc,
                &format!("a table of {n} inputs; at most {MAX_VARS} are supported"),
            ));
        }
        if let Some((w, first)) = width {
            if w != n {
                return Err(fail(
                    loc,
                    &format!(
                        "expected {} characters like line {first}, found {len}",
                        1usize << w
                    ),
                ));
            }
        } else {
            width = Some((n, i + 1));
        }
        let bytes = line.as_bytes();
        tables.push(Tt::from_fn(n, |m| bytes[len - 1 - m] == b'1'));
    }
    if tables.is_empty() {
        return Err(fail(
            Loc { file, line: 1 },
            "expected at least one line of `0`/`1` characters",
        ));
    }
    Ok(tables)
}

pub fn write(g: &Aig) -> Result<String, CircuitError> {
    if g.num_inputs() > MAX_VARS {
        return Err(CircuitError::Usage(format!(
            "a truth table of {} inputs is too large to write (at most {MAX_VARS})",
            g.num_inputs()
        )));
    }
    let n = 1usize << g.num_inputs();
    let mut s = String::new();
    for t in crate::sim::output_tables(g) {
        s.extend((0..n).rev().map(|m| if t.get(m) { '1' } else { '0' }));
        s.push('\n');
    }
    Ok(s)
}
