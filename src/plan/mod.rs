//! The planner: a pure function from a manifest (and, when known, the billing's services and
//! prices) to the exact calls `apply` would make.
