//! Filter parser: hand-written recursive descent with length and nesting limits.
