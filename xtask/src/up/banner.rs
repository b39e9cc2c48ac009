//! The banner `up` prints once the whole chain answers: where to look, what the document
//! says now, and what to change to see it move.

use std::net::SocketAddr;

use crate::services::Services;

pub(super) fn print_banner(
    addr: SocketAddr,
    interval: &str,
    body: &str,
    services: &Services,
    database: &str,
) {
    let summary = [
        "state",
        "server_status",
        "exp",
        "players",
        "max_players",
        "updated_at",
    ]
    .iter()
    .filter_map(|key| json_scalar(body, key).map(|v| format!("{key}={v}")))
    .collect::<Vec<_>>()
    .join(" ");
    println!();
    println!("  server-status is up ({summary})");
    println!();
    println!("    status   http://{addr}/server/status");
    println!("    debug    http://{addr}/server/status/debug");
    println!("    health   http://{addr}/health");
    println!();
    println!("    try:     curl -s http://{addr}/server/status");
    println!();
    println!(
        "  The refresher re-reads {database}.constants on {} every {interval}s; \
         change a row and watch it arrive.",
        services.mysql.url.with_path("")
    );
    println!("  Ctrl-C stops everything `up` started.");
    println!();
}

/// The text of a top-level-ish JSON scalar `"key":value` (for the banner only, no parsing
/// guarantees needed).
fn json_scalar<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("\"{key}\":");
    let start = body.find(&needle)? + needle.len();
    let rest = &body[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_scalars() {
        let body = r#"{"schema_version":1,"server_status":1.0,"rates":{"exp":2.5,"pvp":1.5}}"#;
        assert_eq!(json_scalar(body, "server_status"), Some("1.0"));
        assert_eq!(json_scalar(body, "exp"), Some("2.5"));
        assert_eq!(json_scalar(body, "missing"), None);
    }
}
