//! Hostile shapes never crash: deep nesting is an error, deep evaluation stops with
//! `RecursionLimit`, all within the 2 MiB stack a test thread (or a library caller's thread) has.

use tessera::Session;

/// Run `f` on a thread with a 2 MiB stack (a crash here aborts the test binary).
fn small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic")
}

fn nested_neg(depth: usize) -> String {
    format!("{}tokens{}", "-(".repeat(depth), ")".repeat(depth))
}

#[test]
fn nesting_at_the_limit_runs() {
    let out = small_stack(|| {
        let src = format!("fn main() = {}\n", nested_neg(990));
        let s = Session::from_source("deep.tess", &src).map_err(|e| e.render(false))?;
        s.run("main", Some("1 2"), &[])
            .map(|o| o.render())
            .map_err(|e| e.render(false))
    });
    assert_eq!(out.as_deref(), Ok("1 2"));
}

#[test]
fn nesting_past_the_limit_is_an_error() {
    let kinds = small_stack(|| {
        let src = format!(
            "fn main() = {}\nfn sum() = {}\n",
            nested_neg(5000),
            vec!["1"; 5000].join(" + ")
        );
        match Session::from_source("deep.tess", &src) {
            Ok(_) => vec![],
            Err(e) => e.kinds().iter().map(|k| k.to_string()).collect(),
        }
    });
    assert_eq!(kinds, vec!["NestingTooDeep"]);
}

#[test]
fn self_application_stops_with_recursion_limit() {
    let kinds = small_stack(|| {
        let s =
            Session::from_source("g.tess", "fn g(f) = f(f)\nfn main() = g(g)\n").expect("checks");
        match s.run("main", None, &[]) {
            Ok(o) => vec![o.render()],
            Err(e) => e.kinds().iter().map(|k| k.to_string()).collect(),
        }
    });
    assert_eq!(kinds, vec!["RecursionLimit"]);
}

#[test]
fn deep_call_chains_with_deep_bodies_stop_cleanly() {
    let r = small_stack(|| {
        let mut src = format!("fn f0(x) = {}\n", nested_neg(150).replace("tokens", "x"));
        for i in 1..60 {
            src.push_str(&format!(
                "fn f{i}(x) = {}\n",
                nested_neg(150).replace("tokens", &format!("f{}(x)", i - 1))
            ));
        }
        src.push_str("fn main() = f59(tokens)\n");
        let s = Session::from_source("chain.tess", &src).map_err(|e| e.render(false))?;
        match s.run("main", Some("1"), &[]) {
            Ok(o) => Ok(o.render()),
            Err(e) => Ok(e.kinds().join(",")),
        }
    });
    assert_eq!(r, Ok::<String, String>("RecursionLimit".to_string()));
}
