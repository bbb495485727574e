//! Validated runtime options, profiles (TOML) and credentials.
