use std::net::TcpStream;

use super::*;
use crate::process::log_tail;

fn have(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn redis_starts_restarts_and_takes_extra_arguments() {
    if !have("redis-server") {
        eprintln!("skipped: no redis-server on PATH");
        return;
    }
    let mut server = Throwaway::redis_in_temp_dir()
        .args(["--maxmemory", "10mb"])
        .start()
        .unwrap();
    assert!(server.is_up());
    let port = server.port();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}"));
    let (_, args) = &server.command;
    let tail: Vec<_> = args.iter().rev().take(2).collect();
    assert_eq!(tail, [OsStr::new("10mb"), OsStr::new("--maxmemory")]);
    server.restart().unwrap();
    assert_eq!(server.port(), port);
    assert!(TcpStream::connect(server.addr()).is_ok());
    server.kill();
    assert!(!server.is_up());
    let dir = server.dir().to_owned();
    assert!(dir.exists());
    drop(server);
    assert!(!dir.exists(), "a temporary directory is removed");
}

#[test]
fn mariadb_starts_on_a_fresh_datadir_with_extra_arguments() {
    if !have("mariadbd") || !have("mariadb-install-db") {
        eprintln!("skipped: no mariadbd/mariadb-install-db on PATH");
        return;
    }
    let mut server = Throwaway::mariadb_in_temp_dir()
        .args(["--log-bin=binlog", "--binlog-format=ROW", "--server-id=7"])
        .start()
        .unwrap();
    assert!(TcpStream::connect(server.addr()).is_ok());
    assert!(server.url().starts_with("mysql://root@127.0.0.1:"));
    // The extra arguments reached the server: it writes a binlog into its datadir.
    let binlog = server.dir().join("data").join("binlog.index");
    assert!(binlog.exists(), "{}", log_tail(server.log(), 20));
    server.stop(Duration::from_secs(10));
    assert!(!server.is_up());
}

#[test]
fn a_server_that_exits_reports_its_log() {
    if !have("redis-server") {
        eprintln!("skipped: no redis-server on PATH");
        return;
    }
    let dir = std::env::temp_dir().join(format!("dev-support-bad-{}", free_port().unwrap()));
    let err = Throwaway::redis(&dir)
        .arg("--no-such-option")
        .start()
        .err()
        .expect("a bad option stops redis-server");
    let text = format!("{err:#}");
    assert!(text.contains("exited during start-up"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
