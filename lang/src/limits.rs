//! The limits of the front end and the interpreter: every one has a default, a ceiling a flag
//! may raise it to, and an error that names it (docs/reliability.md lists them all).
//!
//! A [`Limits`] travels with the loaded [`crate::program::Program`], so the parser, the
//! interpreter and the circuit elaborator of one program all see the same values.

/// One limit's name (as its flag spells it), default and ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSpec {
    pub flag: &'static str,
    pub default: usize,
    pub ceiling: usize,
}

/// Bytes of one source file.
pub const SOURCE_BYTES: LimitSpec = LimitSpec {
    flag: "--max-source-bytes",
    default: 16 << 20,
    ceiling: 1 << 30,
};
/// Expression nesting the parser accepts. Every later pass recurses over expressions on a
/// stack that grows on the heap, and dropping a tree recurses on the native stack, so the
/// ceiling is kept where dropping is known to fit in a 2 MiB thread stack.
pub const NESTING: LimitSpec = LimitSpec {
    flag: "--max-nesting",
    default: 1000,
    ceiling: 10_000,
};
/// Evaluation nesting through expressions and calls.
pub const EVAL_DEPTH: LimitSpec = LimitSpec {
    flag: "--max-eval-depth",
    default: 4000,
    ceiling: 1_000_000,
};
/// Function and circuit calls nested in one another.
pub const CALL_DEPTH: LimitSpec = LimitSpec {
    flag: "--max-call-depth",
    default: 64,
    ceiling: 100_000,
};
/// Tokens of one input. Selectors are n × n, so 10,000 tokens are 10^8 cells per selector.
pub const INPUT_TOKENS: LimitSpec = LimitSpec {
    flag: "--max-input-tokens",
    default: 10_000,
    ceiling: 1_000_000,
};
/// The dimension of a hypervector space.
pub const VSA_DIM: LimitSpec = LimitSpec {
    flag: "--max-dim",
    default: 1 << 20,
    ceiling: tessera_vsa::MAX_DIM,
};

/// The limits in force for one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub source_bytes: usize,
    pub nesting: usize,
    pub eval_depth: usize,
    pub call_depth: usize,
    pub input_tokens: usize,
    pub vsa_dim: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            source_bytes: SOURCE_BYTES.default,
            nesting: NESTING.default,
            eval_depth: EVAL_DEPTH.default,
            call_depth: CALL_DEPTH.default,
            input_tokens: INPUT_TOKENS.default,
            vsa_dim: VSA_DIM.default,
        }
    }
}

impl LimitSpec {
    /// Check a value given for this limit: 1 ..= ceiling, or a message that names the flag.
    pub fn accept(&self, value: usize) -> Result<usize, String> {
        if (1..=self.ceiling).contains(&value) {
            Ok(value)
        } else {
            Err(format!(
                "`{}` must be between 1 and {} (default {}), not {value}",
                self.flag, self.ceiling, self.default
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_lie_within_their_ceilings() {
        for s in [
            SOURCE_BYTES,
            NESTING,
            EVAL_DEPTH,
            CALL_DEPTH,
            INPUT_TOKENS,
            VSA_DIM,
        ] {
            assert_eq!(s.accept(s.default), Ok(s.default), "{}", s.flag);
            assert!(s.accept(0).is_err());
            let e = s.accept(s.ceiling + 1).expect_err("above the ceiling");
            assert!(e.contains(s.flag), "{e}");
        }
    }
}
