//! The BILLmanager client: one `reqwest` client, dialects, auth, decoding, error kinds.
