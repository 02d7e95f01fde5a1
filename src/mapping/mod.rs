//! The mapping language: the file format, its compiler and diagnostics.

pub mod expr;
