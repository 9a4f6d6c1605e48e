//! httpuploader's server, as a `wasi:http/incoming-handler` component.

pub mod command;
pub mod permissions;
pub mod share_path;
