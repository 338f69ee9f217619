//! What this binary was built as, so a benchmark report can say which profile it measured.

/// `"release"` when built with optimisations and without debug assertions, `"debug"` otherwise.
pub const PROFILE: &str = if cfg!(debug_assertions) { "debug" } else { "release" };

/// The crate version baked in at compile time.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
