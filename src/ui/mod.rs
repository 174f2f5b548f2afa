//! The interactive view.
