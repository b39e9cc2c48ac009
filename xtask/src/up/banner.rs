//! The banner `up` prints once the whole chain answers: where to look, what the document
//! says now, and what to change to see it move.

use std::net::SocketAddr;

use super::servers::ServersFile;
use crate::services::Services;

pub(super) fn print_banner(
    addr: SocketAddr,
    interval: &str,
    body: &str,
    services: &Services,
    database: &str,
    servers: Option<&ServersFile>,
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
    // With a servers file the body is the first server's document.
    let whose = servers.map_or_else(String::new, |file| format!("{}: ", file.servers[0].id));
    println!();
    println!("  server-status is up ({whose}{summary})");
    println!();
    match servers {
        None => {
            println!("    page     http://{addr}/status");
            println!("    status   http://{addr}/server/status");
            println!("    debug    http://{addr}/server/status/debug");
            println!("    health   http://{addr}/health");
            println!();
            println!("    try:     curl -s http://{addr}/server/status");
        }
        Some(file) => print_servers(addr, file),
    }
    println!();
    let tables = match servers {
        None => format!("{database}.constants"),
        Some(_) => format!("the constants tables of {database}"),
    };
    println!(
        "  The refresher re-reads {tables} on {} every {interval}s; \
         change a row and watch it arrive.",
        services.mysql.url.with_path("")
    );
    println!("  Ctrl-C stops everything `up` started.");
    println!();
}

/// The index, then each server's page with its name, the way `/servers` lists them.
fn print_servers(addr: SocketAddr, file: &ServersFile) {
    let width = file
        .servers
        .iter()
        .map(|s| s.id.len())
        .chain(["servers".len(), "page".len()])
        .max()
        .unwrap_or(0);
    let urls: Vec<String> = file
        .servers
        .iter()
        .map(|s| format!("http://{addr}{}", s.page()))
        .collect();
    let url_width = urls.iter().map(String::len).max().unwrap_or(0);
    println!("    servers file  {}", file.path.display());
    println!();
    println!("    {:width$}  http://{addr}/status", "page");
    println!("    {:width$}  http://{addr}/servers", "servers");
    for (server, url) in file.servers.iter().zip(&urls) {
        let name = server.name.as_deref().unwrap_or(&server.id);
        println!("    {:width$}  {url:url_width$}  {name}", server.id);
    }
    println!(
        "    {:width$}  each also /history, /debug, /simple, /badge.svg, /shields.json",
        ""
    );
    println!("    {:width$}  http://{addr}/health", "health");
    println!();
    println!("    try:     curl -s http://{addr}/servers");
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
