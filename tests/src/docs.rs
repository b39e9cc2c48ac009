//! The manual's pages that tests hold to the code and the deploy files.
//!
//! Each documented table or line that a test reads lives on exactly one page, named here, so
//! when a page is split or renamed the tests follow it in one place instead of silently
//! reading a file that no longer holds the table (they moved out of README.md once).

use crate::binaries::workspace_root;

/// Every setting of both halves: the refresher's `| Variable | Flag | Default | Meaning |`
/// table, whose rows begin `` | `NAME` | ``.
pub const CONFIGURATION: &str = "docs/configuration.md";
/// The `ACL SETUSER` and `GRANT` lines ("Least privilege"), the compose table and the
/// systemd unit's measured exposure level.
pub const DEPLOY: &str = "docs/deploy.md";
/// The reader's endpoint table (`| Request | Answer |`).
pub const WEBSITE: &str = "docs/website.md";

/// The text of `page` (a path relative to the workspace root).
pub fn read(page: &str) -> String {
    let path = workspace_root().join(page);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
