//! The embedded BILLmanager simulator (axum), with fault injection.
