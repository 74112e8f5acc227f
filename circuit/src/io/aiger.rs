//! AIGER 1.9 (combinational part): ASCII `aag` and binary `aig`, with the symbol table.

use super::{Loc, fail};
use crate::CircuitError;
use crate::aig::{Aig, Lit, Node};
use std::collections::HashMap;

/// Renumbers `g` AIGER's way: inputs `1..=I`, then ANDs in topological order. Returns the map
/// from node variable to AIGER variable.
fn numbering(g: &Aig) -> Vec<u32> {
    let mut num = vec![0u32; g.num_nodes()];
    let mut next = 1;
    for &v in g.inputs() {
        num[v as usize] = next;
        next += 1;
    }
    for (v, n) in g.nodes().iter().enumerate() {
        if let Node::And(..) = n {
            num[v] = next;
            next += 1;
        }
    }
    num
}

fn code(num: &[u32], l: Lit) -> u32 {
    2 * num[l.index()] + l.is_compl() as u32
}

fn symbols(g: &Aig, out: &mut Vec<u8>) {
    // Input and output names must differ (ABC refuses an input and an output of one name).
    let nm = super::names(g, |n| !n.is_empty());
    for i in 0..g.num_inputs() {
        if g.input_name(i).is_some() {
            out.extend_from_slice(format!("i{i} {}\n", one_line(&nm.inputs[i])).as_bytes());
        }
    }
    for i in 0..g.num_outputs() {
        if g.output_name(i).is_some() {
            out.extend_from_slice(format!("o{i} {}\n", one_line(&nm.outputs[i])).as_bytes());
        }
    }
    out.extend_from_slice(b"c\nwritten by tessera\n");
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect()
}

/// The ANDs as (lhs, rhs0, rhs1) AIGER codes with `rhs0 >= rhs1`.
fn ands(g: &Aig, num: &[u32]) -> Vec<(u32, u32, u32)> {
    g.nodes()
        .iter()
        .enumerate()
        .filter_map(|(v, n)| match *n {
            Node::And(a, b) => {
                let (x, y) = (code(num, a), code(num, b));
                Some((2 * num[v], x.max(y), x.min(y)))
            }
            _ => None,
        })
        .collect()
}

pub fn write_ascii(g: &Aig) -> Vec<u8> {
    let num = numbering(g);
    let (i, a) = (g.num_inputs(), g.num_ands());
    let mut out = format!("aag {} {i} 0 {} {a}\n", i + a, g.num_outputs()).into_bytes();
    for &v in g.inputs() {
        out.extend_from_slice(format!("{}\n", 2 * num[v as usize]).as_bytes());
    }
    for &o in g.outputs() {
        out.extend_from_slice(format!("{}\n", code(&num, o)).as_bytes());
    }
    for (l, x, y) in ands(g, &num) {
        out.extend_from_slice(format!("{l} {x} {y}\n").as_bytes());
    }
    symbols(g, &mut out);
    out
}

pub fn write_binary(g: &Aig) -> Vec<u8> {
    let num = numbering(g);
    let (i, a) = (g.num_inputs(), g.num_ands());
    let mut out = format!("aig {} {i} 0 {} {a}\n", i + a, g.num_outputs()).into_bytes();
    for &o in g.outputs() {
        out.extend_from_slice(format!("{}\n", code(&num, o)).as_bytes());
    }
    for (l, x, y) in ands(g, &num) {
        for mut d in [l - x, x - y] {
            while d >= 0x80 {
                out.push((d & 0x7f) as u8 | 0x80);
                d >>= 7;
            }
            out.push(d as u8);
        }
    }
    symbols(g, &mut out);
    out
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    line: usize,
    file: &'a str,
}

impl<'a> Reader<'a> {
    fn loc(&self) -> Loc<'a> {
        Loc {
            file: self.file,
            line: self.line,
        }
    }
    /// The next line as text (without the newline); `None` at the end.
    fn line(&mut self) -> Result<Option<&'a str>, CircuitError> {
        if self.pos >= self.data.len() {
            return Ok(None);
        }
        self.line += 1;
        let rest = &self.data[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos += (end + 1).min(rest.len());
        let text = std::str::from_utf8(&rest[..end])
            .map_err(|_| fail(self.loc(), "this line is not UTF-8 text"))?;
        Ok(Some(text.strip_suffix('\r').unwrap_or(text)))
    }
    fn expect_line(&mut self, what: &str) -> Result<&'a str, CircuitError> {
        match self.line()? {
            Some(l) => Ok(l),
            None => Err(fail(
                Loc {
                    file: self.file,
                    line: self.line + 1,
                },
                &format!("the file ends where {what} was expected"),
            )),
        }
    }
    fn varint(&mut self) -> Result<u32, CircuitError> {
        let mut x: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(fail(
                    self.loc(),
                    &format!("the binary AND section ends early (byte {})", self.pos),
                ));
            };
            self.pos += 1;
            x |= u64::from(b & 0x7f) << shift;
            if x > u64::from(u32::MAX) || shift > 28 {
                return Err(fail(
                    self.loc(),
                    &format!(
                        "a delta in the binary AND section is too large (byte {})",
                        self.pos
                    ),
                ));
            }
            if b & 0x80 == 0 {
                return Ok(x as u32);
            }
            shift += 7;
        }
    }
}

fn numbers(loc: Loc, line: &str, n: usize, what: &str) -> Result<Vec<u32>, CircuitError> {
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    if parts.len() != n {
        return Err(fail(loc, &format!("expected {what}, found `{line}`")));
    }
    parts
        .iter()
        .map(|p| {
            p.parse::<u32>()
                .map_err(|_| fail(loc, &format!("expected {what}, found `{p}`")))
        })
        .collect()
}

const MAX_VARS: u32 = 1 << 28;

/// Reads ASCII or binary AIGER (chosen by the header).
pub fn read(data: &[u8], file: &str) -> Result<Aig, CircuitError> {
    let mut r = Reader {
        data,
        pos: 0,
        line: 0,
        file,
    };
    let header = r.expect_line("the header `aag M I L O A` or `aig M I L O A`")?;
    let loc = r.loc();
    let mut parts = header.split_ascii_whitespace();
    let binary = match parts.next() {
        Some("aag") => false,
        Some("aig") => true,
        _ => {
            return Err(fail(
                loc,
                &format!(
                    "expected the header `aag M I L O A` or `aig M I L O A`, found `{header}`"
                ),
            ));
        }
    };
    let rest: Vec<&str> = parts.collect();
    if rest.len() < 5 || rest.len() > 9 {
        return Err(fail(
            loc,
            "expected five numbers `M I L O A` after the format word",
        ));
    }
    let mut h = Vec::new();
    for p in &rest {
        h.push(p.parse::<u32>().map_err(|_| {
            fail(
                loc,
                &format!("expected a number in the header, found `{p}`"),
            )
        })?);
    }
    let (m, ni, nl, no, na) = (h[0], h[1], h[2], h[3], h[4]);
    if h.len() > 5 && h[5..].iter().any(|&x| x != 0) {
        return Err(fail(
            loc,
            "bad-state, invariant, justice and fairness properties (B C J F) are not supported",
        ));
    }
    if nl != 0 {
        return Err(fail(
            loc,
            &format!("{nl} latches: only combinational circuits are supported"),
        ));
    }
    if m > MAX_VARS || no > MAX_VARS {
        return Err(fail(
            loc,
            &format!("the header asks for {m} variables; the limit is {MAX_VARS}"),
        ));
    }
    if u64::from(ni) + u64::from(na) > u64::from(m) || (binary && ni + na != m) {
        return Err(fail(
            loc,
            &format!(
                "the header says M = {m} but I + L + A = {}",
                u64::from(ni) + u64::from(na)
            ),
        ));
    }
    // Every input, output and AND takes at least one byte, so a header larger than the file
    // is a lie; refusing it keeps a hostile header from allocating gigabytes.
    let budget = 4 * data.len() as u64 + 16;
    if u64::from(m) > budget || u64::from(no) > budget {
        return Err(fail(
            loc,
            &format!(
                "the header declares {m} variables and {no} outputs, more than a file of {} bytes can hold",
                data.len()
            ),
        ));
    }
    let max_code = 2 * m + 1;
    let mut g = Aig::new();
    // AIGER variable -> literal in g (None until defined).
    let mut def: Vec<Option<Lit>> = vec![None; m as usize + 1];
    def[0] = Some(Lit::FALSE);
    for k in 0..ni {
        let var = if binary {
            k + 1
        } else {
            let line = r.expect_line("an input literal")?;
            let c = numbers(r.loc(), line, 1, "an input literal")?[0];
            if c < 2 || c % 2 == 1 || c > max_code {
                return Err(fail(
                    r.loc(),
                    &format!("input literal {c} must be even, at least 2 and at most {max_code}"),
                ));
            }
            if def[(c / 2) as usize].is_some() {
                return Err(fail(
                    r.loc(),
                    &format!("variable {} is defined twice", c / 2),
                ));
            }
            c / 2
        };
        def[var as usize] = Some(g.add_input(None));
    }
    let mut outs = Vec::new();
    for _ in 0..no {
        let line = r.expect_line("an output literal")?;
        let c = numbers(r.loc(), line, 1, "an output literal")?[0];
        if c > max_code {
            return Err(fail(
                r.loc(),
                &format!("output literal {c} is larger than 2M+1 = {max_code}"),
            ));
        }
        outs.push((c, r.loc().line));
    }
    // AND definitions: lhs var -> (rhs0, rhs1, line).
    let mut gates: HashMap<u32, (u32, u32, usize)> = HashMap::new();
    let mut order = Vec::new();
    for k in 0..na {
        let (lhs, x, y) = if binary {
            let lhs = 2 * (ni + k + 1);
            let d0 = r.varint()?;
            let d1 = r.varint()?;
            let x = lhs.checked_sub(d0).ok_or_else(|| {
                fail(
                    r.loc(),
                    &format!("AND {lhs}: delta {d0} is larger than the literal"),
                )
            })?;
            let y = x.checked_sub(d1).ok_or_else(|| {
                fail(
                    r.loc(),
                    &format!("AND {lhs}: delta {d1} is larger than the first input"),
                )
            })?;
            (lhs, x, y)
        } else {
            let line = r.expect_line("an AND `lhs rhs0 rhs1`")?;
            let v = numbers(r.loc(), line, 3, "an AND `lhs rhs0 rhs1`")?;
            (v[0], v[1], v[2])
        };
        let loc = r.loc();
        if lhs < 2 || lhs % 2 == 1 || lhs > max_code || x > max_code || y > max_code {
            return Err(fail(
                loc,
                &format!(
                    "AND `{lhs} {x} {y}`: the output must be even and every literal at most {max_code}"
                ),
            ));
        }
        if def[(lhs / 2) as usize].is_some() || gates.contains_key(&(lhs / 2)) {
            return Err(fail(loc, &format!("variable {} is defined twice", lhs / 2)));
        }
        gates.insert(lhs / 2, (x, y, loc.line));
        order.push(lhs / 2);
    }
    // Build ANDs in dependency order (ASCII files may list them in any order).
    let mut state = vec![0u8; m as usize + 1]; // 0 new, 1 on stack, 2 done
    for &root in &order {
        let mut stack = vec![(root, false)];
        while let Some((v, expanded)) = stack.pop() {
            if def[v as usize].is_some() {
                continue;
            }
            let Some(&(x, y, line)) = gates.get(&v) else {
                return Err(fail(
                    Loc {
                        file,
                        line: gates.get(&root).map_or(0, |g| g.2),
                    },
                    &format!("literal {} is used but never defined", 2 * v),
                ));
            };
            if expanded {
                let (Some(a), Some(b)) = (def[(x / 2) as usize], def[(y / 2) as usize]) else {
                    return Err(fail(Loc { file, line }, "an AND input is undefined"));
                };
                def[v as usize] = Some(g.and(a.xor(x % 2 == 1), b.xor(y % 2 == 1)));
                state[v as usize] = 2;
                continue;
            }
            if state[v as usize] == 1 {
                return Err(fail(
                    Loc { file, line },
                    &format!("AND {} depends on itself (a combinational cycle)", 2 * v),
                ));
            }
            state[v as usize] = 1;
            stack.push((v, true));
            for c in [x, y] {
                let u = c / 2;
                if def[u as usize].is_none() {
                    if !gates.contains_key(&u) {
                        return Err(fail(
                            Loc { file, line },
                            &format!("literal {c} is used but never defined"),
                        ));
                    }
                    if state[u as usize] == 1 {
                        return Err(fail(
                            Loc { file, line },
                            &format!("AND {} depends on itself (a combinational cycle)", 2 * v),
                        ));
                    }
                    stack.push((u, false));
                }
            }
        }
    }
    for (c, line) in outs {
        let Some(l) = def[(c / 2) as usize] else {
            return Err(fail(
                Loc { file, line },
                &format!("output literal {c} is never defined"),
            ));
        };
        g.add_output(l.xor(c % 2 == 1), None);
    }
    // Symbol table and comments.
    while let Some(line) = r.line()? {
        if line == "c" {
            break;
        }
        let loc = r.loc();
        let (kind, rest) = line.split_at(line.char_indices().nth(1).map_or(line.len(), |(i, _)| i));
        let Some((idx, name)) = rest.split_once(' ') else {
            return Err(fail(
                loc,
                &format!("expected a symbol `i<k> name` or `o<k> name`, or `c`, found `{line}`"),
            ));
        };
        let idx: usize = idx
            .parse()
            .map_err(|_| fail(loc, &format!("expected a symbol position, found `{idx}`")))?;
        match kind {
            "i" if idx < g.num_inputs() => g.set_input_name(idx, Some(name.to_string())),
            "o" if idx < g.num_outputs() => g.set_output_name(idx, Some(name.to_string())),
            "i" | "o" => {
                return Err(fail(
                    loc,
                    &format!("symbol `{line}` names a position that does not exist"),
                ));
            }
            "l" | "b" | "c" | "j" | "f" => {}
            _ => {
                return Err(fail(
                    loc,
                    &format!(
                        "expected a symbol `i<k> name` or `o<k> name`, or `c`, found `{line}`"
                    ),
                ));
            }
        }
    }
    Ok(g)
}
