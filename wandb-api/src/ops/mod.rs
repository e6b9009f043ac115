//! Typed operations: one file per resource, each a thin method over [`crate::Client::execute`].

pub(crate) mod agents;
pub(crate) mod files;
pub(crate) mod history;
pub(crate) mod runs;
pub(crate) mod sweeps;
pub(crate) mod viewer;
