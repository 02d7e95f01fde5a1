//! The in-process `memory` target.
