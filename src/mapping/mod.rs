//! The mapping language: the file format, its compiler and diagnostics.

pub mod expr;
pub mod jsonpath;
pub mod native_path;
