//! scimgate: a SCIM 2.0 gateway in front of applications that do not speak the IdP's SCIM.
//!
//! The request path is `server → auth → dialect → scim → engine → backend`; see the README.

pub mod app;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod demo;
pub mod dialect;
pub mod emulator;
pub mod engine;
pub mod mapping;
pub mod observe;
pub mod reload;
pub mod replay;
pub mod scim;
pub mod server;
pub mod service;
pub mod settings;
pub mod target;
