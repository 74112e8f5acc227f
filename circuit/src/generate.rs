//! Equivalence-preserving generation (see below).
