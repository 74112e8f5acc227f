//! Named netlists (BLIF covers, BENCH gates, Verilog assignments) resolved into an AIG, and the
//! BLIF and BENCH writers.

use super::{Loc, fail, names};
use crate::CircuitError;
use crate::aig::{Aig, Lit, Node};
use std::collections::HashMap;

/// A signal's definition.
#[derive(Clone, Debug)]
pub enum Expr {
    Const(bool),
    Name(String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Xor(Vec<Expr>),
}

impl Expr {
    fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Const(_) => {}
            Expr::Name(n) => out.push(n),
            Expr::Not(x) => x.names(out),
            Expr::And(xs) | Expr::Or(xs) | Expr::Xor(xs) => xs.iter().for_each(|x| x.names(out)),
        }
    }
    fn build(&self, g: &mut Aig, env: &HashMap<String, Lit>) -> Lit {
        match self {
            Expr::Const(b) => Lit::FALSE.xor(*b),
            Expr::Name(n) => env.get(n).copied().unwrap_or(Lit::FALSE),
            Expr::Not(x) => !x.build(g, env),
            Expr::And(xs) => {
                let l: Vec<Lit> = xs.iter().map(|x| x.build(g, env)).collect();
                g.and_many(&l)
            }
            Expr::Or(xs) => {
                let l: Vec<Lit> = xs.iter().map(|x| x.build(g, env)).collect();
                g.or_many(&l)
            }
            Expr::Xor(xs) => {
                let mut acc = Lit::FALSE;
                for x in xs {
                    let l = x.build(g, env);
                    acc = g.xor(acc, l);
                }
                acc
            }
        }
    }
}

/// Inputs, outputs and definitions by name, each with the line that declared it.
#[derive(Default)]
pub struct Netlist {
    pub inputs: Vec<(String, usize)>,
    pub outputs: Vec<(String, usize)>,
    pub defs: HashMap<String, (Expr, usize)>,
}

impl Netlist {
    pub fn define(&mut self, name: String, e: Expr, loc: Loc) -> Result<(), CircuitError> {
        if self.defs.contains_key(&name) || self.inputs.iter().any(|(n, _)| *n == name) {
            return Err(fail(loc, &format!("signal `{name}` is defined twice")));
        }
        self.defs.insert(name, (e, loc.line));
        Ok(())
    }

    /// Resolves the netlist into an AIG (definitions in any order; cycles and undefined
    /// signals are errors naming the line).
    pub fn into_aig(self, file: &str) -> Result<Aig, CircuitError> {
        let mut g = Aig::new();
        let mut env: HashMap<String, Lit> = HashMap::new();
        for (n, line) in &self.inputs {
            if env.contains_key(n) {
                return Err(fail(
                    Loc { file, line: *line },
                    &format!("input `{n}` is declared twice"),
                ));
            }
            let l = g.add_input(Some(n.clone()));
            env.insert(n.clone(), l);
        }
        let mut on_stack: HashMap<&str, ()> = HashMap::new();
        for (out, line) in &self.outputs {
            let mut stack: Vec<(&str, bool, usize)> = vec![(out.as_str(), false, *line)];
            while let Some((name, expanded, line)) = stack.pop() {
                if env.contains_key(name) {
                    continue;
                }
                let Some((e, def_line)) = self.defs.get(name) else {
                    return Err(fail(
                        Loc { file, line },
                        &format!("signal `{name}` is used but never defined"),
                    ));
                };
                if expanded {
                    let l = e.build(&mut g, &env);
                    env.insert(name.to_string(), l);
                    on_stack.remove(name);
                    continue;
                }
                if on_stack.insert(name, ()).is_some() {
                    return Err(fail(
                        Loc {
                            file,
                            line: *def_line,
                        },
                        &format!("signal `{name}` depends on itself (a combinational cycle)"),
                    ));
                }
                stack.push((name, true, line));
                let mut deps = Vec::new();
                e.names(&mut deps);
                for d in deps {
                    if !env.contains_key(d) {
                        if on_stack.contains_key(d) {
                            return Err(fail(
                                Loc {
                                    file,
                                    line: *def_line,
                                },
                                &format!(
                                    "signal `{name}` depends on itself through `{d}` (a combinational cycle)"
                                ),
                            ));
                        }
                        stack.push((d, false, *def_line));
                    }
                }
            }
        }
        for (out, _) in &self.outputs {
            let l = env.get(out).copied().unwrap_or(Lit::FALSE);
            g.add_output(l, Some(out.clone()));
        }
        Ok(g)
    }
}

/// Lines with comments removed and `\` continuations joined, each with its first line number.
fn logical_lines(text: &str, comment: char, join: bool) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut acc = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split(comment).next().unwrap_or("");
        if acc.is_empty() {
            start = i + 1;
        }
        if join && line.trim_end().ends_with('\\') {
            acc.push_str(line.trim_end().trim_end_matches('\\'));
            acc.push(' ');
            continue;
        }
        acc.push_str(line);
        if !acc.trim().is_empty() {
            out.push((start, std::mem::take(&mut acc)));
        }
        acc.clear();
    }
    if !acc.trim().is_empty() {
        out.push((start, acc));
    }
    out
}

pub fn read_blif(text: &str, file: &str) -> Result<Aig, CircuitError> {
    let mut net = Netlist::default();
    let lines = logical_lines(text, '#', true);
    let mut i = 0;
    let mut seen_model = false;
    while i < lines.len() {
        let (line, ref l) = lines[i];
        let loc = Loc { file, line };
        let mut words = l.split_ascii_whitespace();
        let Some(kw) = words.next() else {
            i += 1;
            continue;
        };
        i += 1;
        match kw {
            ".model" => {
                if seen_model {
                    return Err(fail(
                        loc,
                        "a second `.model`: hierarchical BLIF is not supported",
                    ));
                }
                seen_model = true;
            }
            ".inputs" => net.inputs.extend(words.map(|w| (w.to_string(), line))),
            ".outputs" => net.outputs.extend(words.map(|w| (w.to_string(), line))),
            ".names" => {
                let sigs: Vec<String> = words.map(str::to_string).collect();
                let Some((out, ins)) = sigs.split_last() else {
                    return Err(fail(loc, "expected `.names <inputs> <output>`"));
                };
                let mut rows: Vec<(String, bool)> = Vec::new();
                while i < lines.len() && !lines[i].1.trim_start().starts_with('.') {
                    let (rl, ref row) = lines[i];
                    let rloc = Loc { file, line: rl };
                    let parts: Vec<&str> = row.split_ascii_whitespace().collect();
                    let (cube, val) = match (ins.len(), parts.as_slice()) {
                        (0, [v]) => ("", *v),
                        (_, [c, v]) => (*c, *v),
                        _ => {
                            return Err(fail(
                                rloc,
                                &format!(
                                    "expected a cover row of {} input characters and an output value, found `{}`",
                                    ins.len(),
                                    row.trim()
                                ),
                            ));
                        }
                    };
                    if cube.len() != ins.len()
                        || !cube.chars().all(|c| matches!(c, '0' | '1' | '-'))
                    {
                        return Err(fail(
                            rloc,
                            &format!(
                                "expected {} characters from `0`, `1`, `-` in the cover row, found `{cube}`",
                                ins.len()
                            ),
                        ));
                    }
                    let v = match val {
                        "1" => true,
                        "0" => false,
                        _ => {
                            return Err(fail(
                                rloc,
                                &format!("expected the output value `0` or `1`, found `{val}`"),
                            ));
                        }
                    };
                    if rows.first().is_some_and(|r| r.1 != v) {
                        return Err(fail(
                            rloc,
                            "a cover mixes on-set (`1`) and off-set (`0`) rows",
                        ));
                    }
                    rows.push((cube.to_string(), v));
                    i += 1;
                }
                let terms: Vec<Expr> = rows
                    .iter()
                    .map(|(cube, _)| {
                        Expr::And(
                            cube.chars()
                                .zip(ins)
                                .filter(|(c, _)| *c != '-')
                                .map(|(c, n)| {
                                    let x = Expr::Name(n.clone());
                                    if c == '1' { x } else { Expr::Not(Box::new(x)) }
                                })
                                .collect(),
                        )
                    })
                    .collect();
                let onset = rows.first().is_none_or(|r| r.1);
                let sum = Expr::Or(terms);
                net.define(
                    out.clone(),
                    if onset { sum } else { Expr::Not(Box::new(sum)) },
                    loc,
                )?;
            }
            ".end" => break,
            ".latch" => {
                return Err(fail(
                    loc,
                    "`.latch`: only combinational circuits are supported",
                ));
            }
            ".subckt" | ".gate" | ".mlatch" => {
                return Err(fail(
                    loc,
                    &format!("`{kw}`: hierarchical or mapped BLIF is not supported"),
                ));
            }
            ".exdc" => break,
            ".default_input_arrival"
            | ".default_output_required"
            | ".input_arrival"
            | ".output_required"
            | ".wire_load_slope"
            | ".area"
            | ".delay" => {}
            _ => {
                return Err(fail(
                    loc,
                    &format!(
                        "expected a BLIF command (`.model`, `.inputs`, `.outputs`, `.names`, `.end`), found `{kw}`"
                    ),
                ));
            }
        }
    }
    net.into_aig(file)
}

fn blif_name_ok(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with('.')
        && !n.contains(|c: char| c.is_whitespace() || c == '#' || c == '\\' || c.is_control())
}

pub fn write_blif(g: &Aig) -> String {
    use std::fmt::Write;
    let nm = names(g, blif_name_ok);
    let node = |v: usize| -> String {
        match g.node(v as u32) {
            Node::Input(i) => nm.inputs[i as usize].clone(),
            _ => format!("_n{v}"),
        }
    };
    let mut s = String::from(".model tessera\n.inputs");
    for n in &nm.inputs {
        let _ = write!(s, " {n}");
    }
    s.push_str("\n.outputs");
    for n in &nm.outputs {
        let _ = write!(s, " {n}");
    }
    s.push('\n');
    let refs = g.fanout_counts();
    if g.outputs().iter().any(|o| o.is_const()) || refs[0] > 0 {
        s.push_str(".names _n0\n");
    }
    for (v, n) in g.nodes().iter().enumerate() {
        if let Node::And(a, b) = *n {
            let _ = writeln!(
                s,
                ".names {} {} _n{v}\n{}{} 1",
                node(a.index()),
                node(b.index()),
                if a.is_compl() { '0' } else { '1' },
                if b.is_compl() { '0' } else { '1' }
            );
        }
    }
    for (k, &o) in g.outputs().iter().enumerate() {
        let _ = writeln!(
            s,
            ".names {} {}\n{} 1",
            node(o.index()),
            nm.outputs[k],
            if o.is_compl() { '0' } else { '1' }
        );
    }
    s.push_str(".end\n");
    s
}

pub fn read_bench(text: &str, file: &str) -> Result<Aig, CircuitError> {
    let mut net = Netlist::default();
    for (line, l) in logical_lines(text, '#', false) {
        let loc = Loc { file, line };
        let l = l.trim();
        let call = |s: &str| -> Option<(String, Vec<String>)> {
            let open = s.find('(')?;
            let close = s.rfind(')')?;
            if close < open || !s[close + 1..].trim().is_empty() {
                return None;
            }
            let args = s[open + 1..close]
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
            Some((s[..open].trim().to_ascii_uppercase(), args))
        };
        if let Some((lhs, rhs)) = l.split_once('=') {
            let lhs = lhs.trim().to_string();
            if lhs.is_empty() {
                return Err(fail(loc, "expected a signal name before `=`"));
            }
            let rhs = rhs.trim();
            let e = match rhs.to_ascii_lowercase().as_str() {
                "vdd" => Expr::Const(true),
                "gnd" => Expr::Const(false),
                _ => {
                    let Some((op, args)) = call(rhs) else {
                        return Err(fail(
                            loc,
                            &format!("expected a gate `NAME(a, b, ...)`, found `{rhs}`"),
                        ));
                    };
                    let xs: Vec<Expr> = args.iter().map(|a| Expr::Name(a.clone())).collect();
                    let arity = |ok: bool, what: &str| {
                        if ok {
                            Ok(())
                        } else {
                            Err(fail(
                                loc,
                                &format!("`{op}` takes {what}, found {} arguments", args.len()),
                            ))
                        }
                    };
                    let not = |e| Expr::Not(Box::new(e));
                    match op.as_str() {
                        "AND" => {
                            arity(!xs.is_empty(), "at least one argument")?;
                            Expr::And(xs)
                        }
                        "NAND" => {
                            arity(!xs.is_empty(), "at least one argument")?;
                            not(Expr::And(xs))
                        }
                        "OR" => {
                            arity(!xs.is_empty(), "at least one argument")?;
                            Expr::Or(xs)
                        }
                        "NOR" => {
                            arity(!xs.is_empty(), "at least one argument")?;
                            not(Expr::Or(xs))
                        }
                        "XOR" => {
                            arity(!xs.is_empty(), "at least one argument")?;
                            Expr::Xor(xs)
                        }
                        "XNOR" => {
                            arity(!xs.is_empty(), "at least one argument")?;
                            not(Expr::Xor(xs))
                        }
                        "NOT" | "INV" => {
                            arity(xs.len() == 1, "one argument")?;
                            not(xs.into_iter().next().unwrap_or(Expr::Const(false)))
                        }
                        "BUF" | "BUFF" => {
                            arity(xs.len() == 1, "one argument")?;
                            xs.into_iter().next().unwrap_or(Expr::Const(false))
                        }
                        "DFF" => {
                            return Err(fail(
                                loc,
                                "`DFF`: only combinational circuits are supported",
                            ));
                        }
                        _ => {
                            return Err(fail(
                                loc,
                                &format!(
                                    "unknown gate `{op}` (expected AND, NAND, OR, NOR, XOR, XNOR, NOT, BUF)"
                                ),
                            ));
                        }
                    }
                }
            };
            net.define(lhs, e, loc)?;
        } else {
            match call(l) {
                Some((kw, args)) if kw == "INPUT" && args.len() == 1 => {
                    net.inputs.push((args[0].clone(), line))
                }
                Some((kw, args)) if kw == "OUTPUT" && args.len() == 1 => {
                    net.outputs.push((args[0].clone(), line))
                }
                _ => {
                    return Err(fail(
                        loc,
                        &format!(
                            "expected `INPUT(name)`, `OUTPUT(name)` or `name = GATE(...)`, found `{l}`"
                        ),
                    ));
                }
            }
        }
    }
    net.into_aig(file)
}

fn bench_name_ok(n: &str) -> bool {
    !n.is_empty()
        && !n.contains(|c: char| c.is_whitespace() || "(),=#".contains(c) || c.is_control())
}

pub fn write_bench(g: &Aig) -> Result<String, CircuitError> {
    use std::fmt::Write;
    let nm = names(g, bench_name_ok);
    let mut s = String::from("# written by tessera\n");
    for n in &nm.inputs {
        let _ = writeln!(s, "INPUT({n})");
    }
    for n in &nm.outputs {
        let _ = writeln!(s, "OUTPUT({n})");
    }
    let node = |v: usize| -> String {
        match g.node(v as u32) {
            Node::Input(i) => nm.inputs[i as usize].clone(),
            _ => format!("_n{v}"),
        }
    };
    let refs = g.fanout_counts();
    if refs[0] > 0 {
        s.push_str("_n0 = gnd\n");
    }
    let mut negated = vec![false; g.num_nodes()];
    let mut neg = |s: &mut String, l: Lit| -> String {
        if !l.is_compl() {
            return node(l.index());
        }
        if !negated[l.index()] {
            negated[l.index()] = true;
            let _ = writeln!(s, "_n{}_not = NOT({})", l.index(), node(l.index()));
        }
        format!("_n{}_not", l.index())
    };
    for (v, n) in g.nodes().iter().enumerate() {
        if let Node::And(a, b) = *n {
            let (x, y) = (neg(&mut s, a), neg(&mut s, b));
            let _ = writeln!(s, "_n{v} = AND({x}, {y})");
        }
    }
    for (k, &o) in g.outputs().iter().enumerate() {
        let op = if o.is_compl() { "NOT" } else { "BUFF" };
        let _ = writeln!(s, "{} = {op}({})", nm.outputs[k], node(o.index()));
    }
    Ok(s)
}
