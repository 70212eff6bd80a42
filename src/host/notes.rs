//! What `mkmodboot` tells as it works: one line on standard error each,
//! `mkmodboot: ` first (a warning says `warning: ` after it), the same
//! prefix its one error message has. Standard output is kept for what a
//! command was asked to print (`inspect`, `show-depends`).

/// Tell `message` on standard error.
pub fn note(message: &str) {
    eprintln!("mkmodboot: {message}");
}
