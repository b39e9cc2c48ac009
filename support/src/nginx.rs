//! nginx for the bench and the tests: the shipped front-cache config
//! (deploy/nginx/server-status.conf) rendered onto loopback ports and a throwaway
//! directory, and the bench's static-file ceiling.
//!
//! The deploy file is used as is apart from the lines an operator edits too (reader address,
//! listen address, cache and log paths), so what is measured and tested is what is shipped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The nginx binary: on `PATH`, or Debian's `/usr/sbin/nginx` (not on a user's `PATH`).
pub fn binary() -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("nginx"))
        .chain([PathBuf::from("/usr/sbin/nginx")])
        .find(|p| p.is_file())
}

/// Paths of one rendered nginx instance.
pub struct Rendered {
    pub conf: PathBuf,
    pub prefix: PathBuf,
    /// One line per request that reached the reader (cache mode only).
    pub upstream_log: PathBuf,
}

/// The `nginx.conf` skeleton around the server block(s): foreground, two workers (one per
/// core), everything under `prefix`, no access log except the upstream-hit log.
fn main_conf(prefix: &Path, body: &str) -> String {
    let p = prefix.display();
    format!(
        "daemon off;\n\
         master_process on;\n\
         worker_processes auto;\n\
         user root root;\n\
         pid {p}/nginx.pid;\n\
         error_log {p}/error.log warn;\n\
         events {{ worker_connections 4096; multi_accept on; }}\n\
         http {{\n\
         access_log off;\n\
         sendfile on;\n\
         tcp_nopush on;\n\
         tcp_nodelay on;\n\
         keepalive_requests 1000000;\n\
         keepalive_timeout 65;\n\
         client_body_temp_path {p}/client_body;\n\
         proxy_temp_path {p}/proxy;\n\
         fastcgi_temp_path {p}/fastcgi;\n\
         uwsgi_temp_path {p}/uwsgi;\n\
         scgi_temp_path {p}/scgi;\n\
         types {{ application/json json; }}\n\
         {body}\n\
         }}\n"
    )
}

fn replace_once(text: &str, from: &str, to: &str) -> anyhow::Result<String> {
    if text.matches(from).count() != 1 {
        bail!("deploy/nginx/server-status.conf no longer contains exactly one `{from}`");
    }
    Ok(text.replace(from, to))
}

/// The deploy config with the reader at `reader`, listening on `listen`, under `prefix`.
pub fn render_cache(
    deploy_conf: &Path,
    prefix: &Path,
    reader: SocketAddr,
    listen: SocketAddr,
) -> anyhow::Result<Rendered> {
    std::fs::create_dir_all(prefix.join("cache"))?;
    let text = std::fs::read_to_string(deploy_conf)
        .with_context(|| format!("reading {}", deploy_conf.display()))?;
    let upstream_log = prefix.join("upstream.log");
    let mut text = replace_once(
        &text,
        "server 127.0.0.1:3000;",
        &format!("server {reader};"),
    )?;
    text = replace_once(
        &text,
        "listen 127.0.0.1:8080;",
        &format!("listen {listen} reuseport;"),
    )?;
    text = replace_once(
        &text,
        "/var/cache/nginx/server-status",
        &prefix.join("cache").display().to_string(),
    )?;
    // The bench does not keep a log line per request (it would measure the disk); the
    // upstream-hit log stays, it is how the bench counts requests that reached the reader.
    text = replace_once(
        &text,
        "access_log /var/log/nginx/server-status.access.log;",
        "",
    )?;
    text = replace_once(
        &text,
        "/var/log/nginx/server-status.upstream.log",
        &upstream_log.display().to_string(),
    )?;
    write(prefix, &text, upstream_log)
}

/// A static-file server for `file` on every path: the ceiling.
pub fn render_static(prefix: &Path, file: &Path, listen: SocketAddr) -> anyhow::Result<Rendered> {
    let dir = file.parent().context("static file has no directory")?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .context("static file name")?;
    let body = format!(
        "server {{\n listen {listen} reuseport;\n root {};\n location / {{\n  default_type application/json;\n  rewrite ^ /{name} break;\n }}\n}}",
        dir.display()
    );
    write(prefix, &body, prefix.join("upstream.log"))
}

fn write(prefix: &Path, body: &str, upstream_log: PathBuf) -> anyhow::Result<Rendered> {
    std::fs::create_dir_all(prefix)?;
    let conf = prefix.join("nginx.conf");
    std::fs::write(&conf, main_conf(prefix, body))?;
    Ok(Rendered {
        conf,
        prefix: prefix.to_owned(),
        upstream_log,
    })
}

impl Rendered {
    /// `nginx -t` then the foreground master, as a command for `process::Server`.
    pub fn command(&self, nginx: &Path) -> anyhow::Result<Command> {
        let output = Command::new(nginx)
            .arg("-t")
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.conf)
            .output()?;
        if !output.status.success() {
            bail!(
                "nginx -t rejected the rendered config: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let mut command = Command::new(nginx);
        command
            .arg("-p")
            .arg(&self.prefix)
            .arg("-c")
            .arg(&self.conf);
        Ok(command)
    }

    /// Lines in the upstream-hit log so far.
    pub fn upstream_hits(&self) -> u64 {
        std::fs::read_to_string(&self.upstream_log)
            .map(|s| s.lines().count() as u64)
            .unwrap_or(0)
    }
}
