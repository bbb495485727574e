//! The connection lives in [`crate::connect`]; re-exported here so that commands keep
//! importing it as `super::connect::…`.

pub use crate::connect::{Connection, Pace, connect, connect_bare};
