fn main() {
    lalrpop::Configuration::new()
        .use_cargo_dir_conventions()
        .emit_rerun_directives(true)
        .process()
        .expect("the LALRPOP grammar in lang/src/grammar.lalrpop must build");
}
