//! scimgate: a SCIM 2.0 gateway in front of applications that do not speak the IdP's SCIM.
//!
//! The request path is `server → auth → dialect → scim → target`; see `docs/architecture.md`.

pub mod auth;
pub mod backend;
pub mod dialect;
pub mod emulator;
pub mod scim;
pub mod settings;
pub mod target;
pub mod mapping;
pub mod replay;
