//! Loading a program: the root source, every module it `use`s (standard library or files),
//! and the scope of each module. Name resolution inside bodies happens in the checker and the
//! interpreter; this module owns item-level names, imports and their errors.

use crate::ast::{Arg, Expr, FnDef, Ident, ItemKind, TypeExpr, UseDecl, UseItems};
use crate::diag::{Diagnostic, did_you_mean};
use crate::limits::Limits;
use crate::parser::parse_module_with;
use crate::span::{FileId, SourceMap, Span};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Where `use` finds modules. The facade wires the embedded standard library in; tests can
/// give a map.
pub trait ModuleLoader {
    /// The source of a standard-library module, by its path (`std::rasp`).
    fn std_module(&self, path: &str) -> Option<&str>;
    /// The names of all standard-library modules (for "did you mean" and listing).
    fn std_modules(&self) -> Vec<String>;
    /// Read a user file named by `use "path";`.
    fn read_file(&self, path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    }
}

/// A loader over a fixed table of `(module path, source)` (the embedded standard library is one:
/// `TableLoader(tessera_stdlib::MODULES)`).
pub struct TableLoader(pub &'static [(&'static str, &'static str)]);

impl ModuleLoader for TableLoader {
    fn std_module(&self, path: &str) -> Option<&str> {
        self.0.iter().find(|(p, _)| *p == path).map(|(_, s)| *s)
    }
    fn std_modules(&self) -> Vec<String> {
        self.0.iter().map(|(p, _)| p.to_string()).collect()
    }
}

/// A loader with no standard library (for tests of the front end alone).
pub struct NoStd;

impl ModuleLoader for NoStd {
    fn std_module(&self, _: &str) -> Option<&str> {
        None
    }
    fn std_modules(&self) -> Vec<String> {
        Vec::new()
    }
}

pub type DefId = usize;
pub type ModId = usize;

#[derive(Debug, Clone)]
pub enum DefKind {
    Fn(Rc<FnDef>),
    Let(Rc<Expr>, Option<TypeExpr>),
    Space { model: Ident, args: Rc<Vec<Arg>> },
    Symbols { space: Ident, symbols: Vec<Ident> },
    Circuit(Rc<FnDef>),
    Gss(Rc<crate::ast::GssDef>),
}

/// One item-level definition.
#[derive(Debug, Clone)]
pub struct Def {
    pub name: String,
    pub module: ModId,
    pub kind: DefKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// `std::rasp`, or the file path as given.
    pub name: String,
    pub file: FileId,
    /// Every name visible at item level in this module: its own items and its imports.
    pub scope: IndexMap<String, DefId>,
    /// This module's own items.
    pub own: IndexMap<String, DefId>,
}

/// A loaded program: sources, modules and definitions.
#[derive(Debug, Clone, Default)]
pub struct Program {
    pub sources: SourceMap,
    pub modules: Vec<ModuleInfo>,
    pub defs: Vec<Def>,
    /// The limits this program was loaded under (the interpreter reads them too).
    pub limits: Limits,
}

/// Names the language defines itself; user items may not reuse them.
pub const RESERVED: &[&str] = &[
    "tokens",
    "indices",
    "aggregate",
    "mean",
    "width",
    "best",
    "gather",
    "map",
    "zipmap",
    "numeric",
    "categorical",
    "bundle",
    "permute",
    "sim",
    "cleanup",
    "embed",
    "sum",
    "factor",
    "table",
    "concat",
    "round",
    "floor",
    "ceil",
    "abs",
    "int",
    "float",
    "str",
];

/// The built-in sequences every program can read.
pub const BUILTIN_SEQS: &[&str] = &["tokens", "indices", "length"];

impl Program {
    /// Load a root source (named `name` for diagnostics) and everything it imports.
    pub fn load(name: &str, text: &str, loader: &dyn ModuleLoader) -> (Program, Vec<Diagnostic>) {
        Program::load_with(name, text, loader, Limits::default())
    }

    /// [`Program::load`] under other limits (source size, nesting, evaluation and call depth,
    /// input tokens, VSA dimension).
    pub fn load_with(
        name: &str,
        text: &str,
        loader: &dyn ModuleLoader,
        limits: Limits,
    ) -> (Program, Vec<Diagnostic>) {
        let mut b = Builder {
            program: Program {
                limits,
                ..Program::default()
            },
            diags: Vec::new(),
            loader,
            by_key: IndexMap::new(),
        };
        let base = Path::new(name).parent().map(Path::to_path_buf);
        b.load_module(name.to_string(), text.to_string(), base, true);
        // The standard library is always reachable by qualified name (`std::rasp::sort`).
        for m in loader.std_modules() {
            b.std_module(&m, None);
        }
        (b.program, b.diags)
    }

    pub fn def(&self, id: DefId) -> &Def {
        &self.defs[id]
    }

    /// Resolve an item-level path as seen from `module`: `name` or `std::rasp::name`.
    pub fn resolve(&self, module: ModId, path: &[Ident]) -> Result<DefId, Diagnostic> {
        let span = match (path.first(), path.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => return Err(Diagnostic::error("E0100", "UnknownName", "empty path")),
        };
        if let [single] = path {
            return self.modules[module]
                .scope
                .get(&single.name)
                .copied()
                .ok_or_else(|| {
                    let candidates = self.modules[module]
                        .scope
                        .keys()
                        .map(String::as_str)
                        .chain(RESERVED.iter().copied());
                    let d = Diagnostic::error(
                        "E0100",
                        "UnknownName",
                        format!("cannot find `{}` in this scope", single.name),
                    )
                    .with_primary(span, "not found");
                    match did_you_mean(&single.name, candidates) {
                        Some(s) => d.with_note(format!("help: did you mean `{s}`?")),
                        None => d,
                    }
                });
        }
        let (last, modpath) = path.split_last().ok_or_else(|| {
            Diagnostic::error("E0100", "UnknownName", "empty path").with_primary(span, "here")
        })?;
        let modname = modpath
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join("::");
        let m = self
            .modules
            .iter()
            .find(|m| m.name == modname)
            .ok_or_else(|| {
                let names: Vec<String> = self.modules.iter().map(|m| m.name.clone()).collect();
                let d =
                    Diagnostic::error("E0101", "UnknownModule", format!("no module `{modname}`"))
                        .with_primary(span, "unknown module");
                match did_you_mean(&modname, names.iter().map(String::as_str)) {
                    Some(s) => d.with_note(format!("help: did you mean `{s}`?")),
                    None => d,
                }
            })?;
        match m.own.get(&last.name) {
            Some(&id) if !last.name.starts_with('_') => Ok(id),
            Some(_) => Err(Diagnostic::error(
                "E0105",
                "PrivateName",
                format!("`{}` is private to `{modname}`", last.name),
            )
            .with_primary(last.span, "private")),
            None => {
                let d = Diagnostic::error(
                    "E0101",
                    "UnknownName",
                    format!("`{modname}` has no item `{}`", last.name),
                )
                .with_primary(last.span, "not found");
                Err(
                    match did_you_mean(&last.name, m.own.keys().map(String::as_str)) {
                        Some(s) => d.with_note(format!("help: did you mean `{modname}::{s}`?")),
                        None => d,
                    },
                )
            }
        }
    }

    /// [`Program::resolve`] without the diagnostic: `None` for an unknown or private name. For
    /// probes that fall back to something else (locals, builtins), where building a "did you
    /// mean" suggestion for every miss would dominate checking.
    pub fn lookup(&self, module: ModId, path: &[Ident]) -> Option<DefId> {
        match path {
            [] => None,
            [single] => self.modules[module].scope.get(&single.name).copied(),
            [modpath @ .., last] => {
                let m = self.modules.iter().find(|m| {
                    let mut parts = m.name.split("::");
                    modpath
                        .iter()
                        .all(|i| parts.next() == Some(i.name.as_str()))
                        && parts.next().is_none()
                })?;
                if last.name.starts_with('_') {
                    return None;
                }
                m.own.get(&last.name).copied()
            }
        }
    }

    /// Resolve a qualified name given as text (`main`, `std::rasp::sort`) from the root module.
    pub fn resolve_str(&self, name: &str) -> Result<DefId, Diagnostic> {
        let path: Vec<Ident> = name
            .split("::")
            .map(|s| Ident {
                name: s.trim().to_string(),
                span: Span::default(),
            })
            .collect();
        if path.iter().any(|i| i.name.is_empty()) {
            return Err(Diagnostic::error(
                "E0100",
                "UnknownName",
                format!("`{name}` is not a valid name"),
            ));
        }
        self.resolve(0, &path)
    }

    /// The qualified name of a definition, for messages.
    pub fn qualified(&self, id: DefId) -> String {
        let d = &self.defs[id];
        if d.module == 0 {
            d.name.clone()
        } else {
            format!("{}::{}", self.modules[d.module].name, d.name)
        }
    }
}

struct Builder<'a> {
    program: Program,
    diags: Vec<Diagnostic>,
    loader: &'a dyn ModuleLoader,
    /// Modules already loaded, by `std::x` name or canonical file path.
    by_key: IndexMap<String, ModId>,
}

impl Builder<'_> {
    /// Load one module; `user` sources (not the standard library) are held to the source-size
    /// limit.
    fn load_module(
        &mut self,
        name: String,
        text: String,
        base: Option<PathBuf>,
        user: bool,
    ) -> ModId {
        let file = self.program.sources.add(name.clone(), text);
        let text = self
            .program
            .sources
            .get(file)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        let limits = self.program.limits;
        let too_large = user && text.len() > limits.source_bytes;
        if too_large {
            let mut end = limits.source_bytes;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            self.diags.push(
                Diagnostic::error(
                    "E0006",
                    "SourceTooLarge",
                    format!(
                        "`{name}` is {} bytes; the limit is {} (`{}`)",
                        text.len(),
                        limits.source_bytes,
                        crate::limits::SOURCE_BYTES.flag
                    ),
                )
                .with_primary(Span::new(file, end, end), "the limit ends here"),
            );
        }
        let (module, diags) = if too_large {
            (crate::ast::Module::default(), Vec::new())
        } else {
            parse_module_with(&text, file, limits.nesting)
        };
        self.diags.extend(diags);
        let mid = self.program.modules.len();
        self.program.modules.push(ModuleInfo {
            name: name.clone(),
            file,
            scope: IndexMap::new(),
            own: IndexMap::new(),
        });
        self.by_key.insert(name, mid);
        let mut uses = Vec::new();
        for item in module.items {
            let (ident, kind) = match item.kind {
                ItemKind::Fn(f) => (f.name.clone(), DefKind::Fn(Rc::new(f))),
                ItemKind::Let { name, ty, value } => (name, DefKind::Let(Rc::new(value), ty)),
                ItemKind::Space { name, model, args } => (
                    name,
                    DefKind::Space {
                        model,
                        args: Rc::new(args),
                    },
                ),
                ItemKind::Symbols {
                    name,
                    space,
                    symbols,
                } => (name, DefKind::Symbols { space, symbols }),
                ItemKind::Circuit(f) => (f.name.clone(), DefKind::Circuit(Rc::new(f))),
                ItemKind::Gss(g) => (g.name.clone(), DefKind::Gss(Rc::new(g))),
                ItemKind::Use(u) => {
                    uses.push((u, item.span));
                    continue;
                }
                ItemKind::Error => continue,
            };
            if RESERVED.contains(&ident.name.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        "E0104",
                        "ReservedName",
                        format!("`{}` is a built-in and cannot be redefined", ident.name),
                    )
                    .with_primary(ident.span, "reserved name"),
                );
                continue;
            }
            if let Some(&prev) = self.program.modules[mid].own.get(&ident.name) {
                let prev_span = self.program.defs[prev].span;
                self.diags.push(
                    Diagnostic::error(
                        "E0102",
                        "DuplicateDefinition",
                        format!("`{}` is defined twice", ident.name),
                    )
                    .with_primary(ident.span, "redefined here")
                    .with_secondary(prev_span, "first defined here"),
                );
                continue;
            }
            let id = self.program.defs.len();
            self.program.defs.push(Def {
                name: ident.name.clone(),
                module: mid,
                kind,
                span: ident.span,
            });
            self.program.modules[mid].own.insert(ident.name.clone(), id);
            self.program.modules[mid].scope.insert(ident.name, id);
        }
        for (u, span) in uses {
            self.import(mid, u, span, base.as_deref());
        }
        mid
    }

    fn std_module(&mut self, name: &str, span: Option<Span>) -> Option<ModId> {
        if let Some(&m) = self.by_key.get(name) {
            return Some(m);
        }
        match self.loader.std_module(name) {
            Some(text) => {
                let text = text.to_string();
                Some(self.load_module(name.to_string(), text, None, false))
            }
            None => {
                if let Some(span) = span {
                    let mods = self.loader.std_modules();
                    let d = Diagnostic::error(
                        "E0101",
                        "UnknownModule",
                        format!("no standard-library module `{name}`"),
                    )
                    .with_primary(span, "unknown module");
                    self.diags
                        .push(match did_you_mean(name, mods.iter().map(String::as_str)) {
                            Some(s) => d.with_note(format!("help: did you mean `{s}`?")),
                            None => d.with_note(format!("available: {}", mods.join(", "))),
                        });
                }
                None
            }
        }
    }

    fn import(&mut self, into: ModId, u: UseDecl, span: Span, base: Option<&Path>) {
        let (from, items) = match u {
            UseDecl::Module { path, items } => {
                let name = path
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join("::");
                let pspan = match (path.first(), path.last()) {
                    (Some(a), Some(b)) => a.span.to(b.span),
                    _ => span,
                };
                if path.first().map(|i| i.name.as_str()) != Some("std") {
                    self.diags.push(
                        Diagnostic::error("E0101", "UnknownModule", format!("no module `{name}`"))
                            .with_primary(pspan, "module paths start with `std::`")
                            .with_note("help: import a file with `use \"path/file.tess\";`"),
                    );
                    return;
                }
                if path.len() == 1 {
                    // `use std::rasp;` parses as item `rasp` of module `std`.
                    if let UseItems::Some(items) = &items
                        && let [one] = items.as_slice()
                    {
                        self.diags.push(
                            Diagnostic::error(
                                "E0101",
                                "UnknownName",
                                format!("`std::{}` is a module, not an item", one.name),
                            )
                            .with_primary(span, "cannot import a module by name")
                            .with_note(format!(
                                "help: write `use std::{}::*;` or `use std::{}::{{a, b}};`",
                                one.name, one.name
                            )),
                        );
                        return;
                    }
                }
                match self.std_module(&name, Some(pspan)) {
                    Some(m) => (m, items),
                    None => return,
                }
            }
            UseDecl::File { path, span: pspan } => {
                let full = match base {
                    Some(b) => b.join(&path),
                    None => PathBuf::from(&path),
                };
                let key = std::fs::canonicalize(&full)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| full.display().to_string());
                let m = match self.by_key.get(&key) {
                    Some(&m) => m,
                    None => match self.loader.read_file(&full) {
                        Ok(text) => {
                            let m = self.load_module(
                                full.display().to_string(),
                                text,
                                full.parent().map(Path::to_path_buf),
                                true,
                            );
                            self.by_key.insert(key, m);
                            m
                        }
                        Err(e) => {
                            self.diags.push(
                                Diagnostic::error(
                                    "E0106",
                                    "FileNotFound",
                                    format!("cannot read `{}`: {e}", full.display()),
                                )
                                .with_primary(pspan, "imported here"),
                            );
                            return;
                        }
                    },
                };
                (m, UseItems::All)
            }
        };
        let names_kind = match &items {
            UseItems::All => UseItems::All,
            UseItems::Some(_) => UseItems::Some(Vec::new()),
        };
        let names: Vec<Ident> = match items {
            UseItems::All => {
                let own = &self.program.modules[from].own;
                // A glob import never shadows the built-in sequences (`std::rasp::length`).
                own.keys()
                    .filter(|n| !n.starts_with('_') && !BUILTIN_SEQS.contains(&n.as_str()))
                    .map(|n| Ident {
                        name: n.clone(),
                        span,
                    })
                    .collect()
            }
            UseItems::Some(v) => v,
        };
        let from_name = self.program.modules[from].name.clone();
        let glob = matches!(names_kind, UseItems::All);
        for ident in names {
            let found = self.program.modules[from].own.get(&ident.name).copied();
            match found {
                Some(_) if ident.name.starts_with('_') => self.diags.push(
                    Diagnostic::error(
                        "E0105",
                        "PrivateName",
                        format!("`{}` is private to `{from_name}`", ident.name),
                    )
                    .with_primary(ident.span, "private"),
                ),
                Some(id) => {
                    let existing = self.program.modules[into].scope.get(&ident.name).copied();
                    let own_item = self.program.modules[into].own.contains_key(&ident.name);
                    match existing {
                        // An item of the module shadows a glob import (as in Rust).
                        Some(_) if glob && own_item => {}
                        Some(prev) if prev != id && !own_item => self.diags.push(
                            Diagnostic::error(
                                "E0102",
                                "DuplicateDefinition",
                                format!(
                                    "`{}` is imported from two modules (`{}` and `{from_name}`)",
                                    ident.name,
                                    self.program.modules[self.program.defs[prev].module].name
                                ),
                            )
                            .with_primary(ident.span, "imported again here"),
                        ),
                        Some(prev) if prev != id => self.diags.push(
                            Diagnostic::error(
                                "E0102",
                                "DuplicateDefinition",
                                format!("`{}` is both defined here and imported", ident.name),
                            )
                            .with_primary(ident.span, "imported here")
                            .with_secondary(self.program.defs[prev].span, "also defined here"),
                        ),
                        _ => {
                            self.program.modules[into].scope.insert(ident.name, id);
                        }
                    }
                }
                None => {
                    let own = &self.program.modules[from].own;
                    let d = Diagnostic::error(
                        "E0101",
                        "UnknownName",
                        format!("`{from_name}` has no item `{}`", ident.name),
                    )
                    .with_primary(ident.span, "not found");
                    let d = match did_you_mean(&ident.name, own.keys().map(String::as_str)) {
                        Some(s) => d.with_note(format!("help: did you mean `{s}`?")),
                        None => d,
                    };
                    self.diags.push(d);
                }
            }
        }
    }
}

/// Match a call's arguments to a function's parameters: positional arguments fill parameters
/// from the left, named ones go to their parameter. Returns one slot per parameter (`None`
/// where the call gives nothing; the caller then uses the default or reports it missing).
/// Every evaluator uses this, so the rule is the same everywhere.
pub fn bind_arguments<T>(
    f: &FnDef,
    fname: &str,
    args: Vec<(Option<&Ident>, T)>,
    call: Span,
) -> Result<Vec<Option<T>>, (Span, String)> {
    let mut slots: Vec<Option<T>> = std::iter::repeat_with(|| None)
        .take(f.params.len())
        .collect();
    let mut next = 0;
    for (name, v) in args {
        let i = match name {
            Some(n) => f
                .params
                .iter()
                .position(|p| p.name.name == n.name)
                .ok_or_else(|| (n.span, format!("`{fname}` has no parameter `{}`", n.name)))?,
            None => {
                next += 1;
                next - 1
            }
        };
        match slots.get_mut(i) {
            None => {
                return Err((
                    call,
                    format!("`{fname}` takes {} arguments", f.params.len()),
                ));
            }
            Some(Some(_)) => {
                return Err((
                    call,
                    format!(
                        "argument `{}` of `{fname}` is given twice",
                        f.params[i].name.name
                    ),
                ));
            }
            Some(slot) => *slot = Some(v),
        }
    }
    Ok(slots)
}
