//! Pictures of programs: `tessera draw` shows a program as a transformer on one input, in the
//! manner of RASP's `draw` (which writes a PDF through Graphviz) but as plain SVG from Rust.
//!
//! The program is lowered and optimised to the IR, placed in layers by RASP's analysis, and run
//! on the input keeping every node's value. One band per layer: each head shows its selector
//! as a query × key grid coloured on the input, and the values it moves; the layer's MLP shows
//! each map with its output values; the last row is the output.

use tessera_compiler::analysis::analyse;
use tessera_compiler::eval::{NodeValue, eval_all};
use tessera_compiler::ir::{Ir, IrOutput, Op, VsaOp};
use tessera_lang::value::Val;

const CELL: f64 = 16.0;
const PAD: f64 = 12.0;
const FONT: &str = "font-family=\"DejaVu Sans Mono, monospace\"";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn short(v: &Val) -> String {
    let s = v.to_string();
    if s.chars().count() > 6 {
        format!("{}…", s.chars().take(5).collect::<String>())
    } else {
        s
    }
}

struct Svg {
    body: String,
    width: f64,
}

impl Svg {
    fn text(&mut self, x: f64, y: f64, size: f64, weight: &str, anchor: &str, s: &str) {
        self.body.push_str(&format!(
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\" font-weight=\"{weight}\" text-anchor=\"{anchor}\" {FONT}>{}</text>\n",
            esc(s)
        ));
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: &str) {
        self.body.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1\"/>\n"
        ));
    }

    /// A labelled row of values in boxes; returns its height.
    fn row(&mut self, x: f64, y: f64, label: &str, vals: &[Val], fill: &str) -> f64 {
        self.text(x, y + 12.0, 11.0, "normal", "start", label);
        let x0 = x + 150.0;
        for (i, v) in vals.iter().enumerate() {
            let cx = x0 + i as f64 * (CELL * 2.5);
            self.rect(cx, y, CELL * 2.3, CELL + 2.0, fill, "#888");
            self.text(
                cx + CELL * 1.15,
                y + 13.0,
                11.0,
                "normal",
                "middle",
                &short(v),
            );
        }
        self.width = self.width.max(x0 + vals.len() as f64 * CELL * 2.5 + PAD);
        CELL + 8.0
    }
}

fn seq(vals: &[NodeValue], id: usize) -> Vec<Val> {
    match vals.get(id) {
        Some(NodeValue::Seq(s)) => s.clone(),
        // A hypervector per position: its fingerprint (equal vectors look alike).
        Some(NodeValue::Hv(h)) => h
            .iter()
            .map(|v| Val::Str(format!("#{:04x}", v.fingerprint() >> 48).as_str().into()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Draw `ir` on `tokens`; `title` heads the picture.
pub fn draw(ir: &Ir, tokens: &[Val], title: &str) -> Result<String, String> {
    let values = eval_all(ir, tokens)
        .map_err(|e| format!("the program fails on this input: {}", e.message))?;
    let a = analyse(ir);
    let live = ir.live();
    let mut svg = Svg {
        body: String::new(),
        width: 600.0,
    };
    let mut y = PAD;
    svg.text(PAD, y + 14.0, 15.0, "bold", "start", title);
    y += 26.0;
    svg.text(
        PAD,
        y + 10.0,
        11.0,
        "normal",
        "start",
        &format!(
            "{} layers, heads per layer {}",
            a.layers,
            a.heads
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("/")
        ),
    );
    y += 22.0;
    y += svg.row(PAD, y, "input (tokens)", tokens, "#eef5ff");
    y += 6.0;
    let n = tokens.len();
    for layer in 0..=a.layers {
        let heads: Vec<usize> = live
            .iter()
            .copied()
            .filter(|&i| a.node_layer[i] == layer)
            .filter(|&i| {
                matches!(
                    ir.node(i).op,
                    Op::Aggregate { .. }
                        | Op::Mean { .. }
                        | Op::Width { .. }
                        | Op::Best { .. }
                        | Op::Length
                        | Op::Vsa {
                            op: VsaOp::Sum { .. },
                            ..
                        }
                )
            })
            .collect();
        let maps: Vec<usize> = live
            .iter()
            .copied()
            .filter(|&i| {
                a.node_layer[i] == layer
                    && match &ir.node(i).op {
                        Op::Elementwise { .. } => true,
                        Op::Vsa { op, .. } => !matches!(op, VsaOp::Sum { .. }),
                        _ => false,
                    }
            })
            .collect();
        if heads.is_empty() && maps.is_empty() {
            continue;
        }
        let band_top = y;
        y += 6.0;
        let name = if layer == 0 {
            "before layer 1: MLP on the embeddings".to_string()
        } else {
            format!("layer {layer}")
        };
        svg.text(PAD + 6.0, y + 12.0, 13.0, "bold", "start", &name);
        y += 22.0;
        for &h in &heads {
            let node = ir.node(h);
            let (sel, what) = match &node.op {
                Op::Aggregate { sel, values, .. } => {
                    (Some(*sel), format!("head: aggregate %{values} → %{h}"))
                }
                Op::Mean { sel, values } => (Some(*sel), format!("head: mean %{values} → %{h}")),
                Op::Width { sel } => (Some(*sel), format!("head: width → %{h}")),
                Op::Best { sel, score, .. } => {
                    (Some(*sel), format!("head: best by %{score} → %{h}"))
                }
                Op::Vsa { inputs, .. } if inputs.len() == 2 => (
                    Some(inputs[0]),
                    format!("head: sum (bundle) %{} → %{h}", inputs[1]),
                ),
                _ => (None, format!("head: length → %{h}")),
            };
            svg.text(PAD + 12.0, y + 12.0, 12.0, "bold", "start", &what);
            y += 18.0;
            if let Some(NodeValue::Sel(s)) = sel.and_then(|s| values.get(s)) {
                // Query rows × key columns, labelled with the input tokens.
                let x0 = PAD + 150.0;
                for (k, t) in tokens.iter().enumerate() {
                    svg.text(
                        x0 + k as f64 * CELL + CELL / 2.0,
                        y + 10.0,
                        9.0,
                        "normal",
                        "middle",
                        &short(t),
                    );
                }
                svg.text(
                    x0 + n as f64 * CELL + 6.0,
                    y + 10.0,
                    9.0,
                    "normal",
                    "start",
                    "keys →",
                );
                y += 14.0;
                for (q, tq) in tokens.iter().enumerate().take(s.n) {
                    svg.text(x0 - 4.0, y + 11.0, 9.0, "normal", "end", &short(tq));
                    for k in 0..s.n {
                        let fill = if s.get(q, k) { "#3b6fb6" } else { "#f4f4f4" };
                        svg.rect(
                            x0 + k as f64 * CELL,
                            y,
                            CELL - 1.0,
                            CELL - 1.0,
                            fill,
                            "#ccc",
                        );
                    }
                    y += CELL;
                }
                svg.text(x0 - 4.0, y + 11.0, 9.0, "normal", "end", "queries ↑");
                svg.width = svg.width.max(x0 + n as f64 * CELL + 80.0);
                y += 16.0;
            }
            y += svg.row(
                PAD + 12.0,
                y,
                &format!("moves → %{h}"),
                &seq(&values, h),
                "#fff6e0",
            );
            y += 6.0;
        }
        if !maps.is_empty() {
            svg.text(PAD + 12.0, y + 12.0, 12.0, "bold", "start", "MLP");
            y += 18.0;
            for &m in &maps {
                let (inputs, f) = match &ir.node(m).op {
                    Op::Elementwise { inputs, f } => (inputs.clone(), f.render()),
                    Op::Vsa { op, inputs } => (
                        inputs.clone(),
                        match op {
                            VsaOp::Embed { book } | VsaOp::Cleanup { book, .. } => {
                                format!("{} {}", op.name(), book.name)
                            }
                            VsaOp::Permute { k, .. } => format!("permute by {k}"),
                            VsaOp::Const { space, .. } => format!("a constant of {}", space.name),
                            other => other.name().to_string(),
                        },
                    ),
                    _ => (Vec::new(), String::new()),
                };
                let ins: Vec<String> = inputs.iter().map(|i| format!("%{i}")).collect();
                let f = if f.chars().count() > 70 {
                    format!("{}…", f.chars().take(69).collect::<String>())
                } else {
                    f
                };
                svg.text(
                    PAD + 12.0,
                    y + 12.0,
                    10.0,
                    "normal",
                    "start",
                    &format!("%{m} = {f} of {}", ins.join(", ")),
                );
                y += 16.0;
                y += svg.row(PAD + 12.0, y, &format!("%{m}"), &seq(&values, m), "#eaf7ea");
            }
        }
        y += 6.0;
        let w = svg.width - 2.0 * PAD;
        svg.body.insert_str(0, &format!(
            "<rect x=\"{PAD}\" y=\"{band_top:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"4 3\" rx=\"6\"/>\n",
            y - band_top
        ));
        y += 10.0;
    }
    let out = match &ir.output {
        Some(IrOutput::Seq(o)) => seq(&values, *o),
        _ => Vec::new(),
    };
    y += svg.row(PAD, y, "output", &out, "#e8e8ff");
    let height = y + PAD;
    let width = svg.width.max(600.0);
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
        svg.body
    ))
}
