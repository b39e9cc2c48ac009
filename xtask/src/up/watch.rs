//! Watching the running stack: the first document through the whole chain (the moment `up`
//! prints its banner), then every child until Ctrl-C, so that a process that dies is reported
//! at once instead of leaving a stack that looks up but serves nothing.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use dev_support::http;

use crate::child::{Managed, POLL, describe_status};
use crate::services::Services;
use crate::shutdown::Shutdown;

/// How long to wait for the first `200` from the status page (the host compiles the
/// component at start, the refresher does its first read).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Polls `GET <page>` (`/server/status`, or a servers file's first `/servers/<id>`) until
/// it answers 200. Returns `None` when it is still not ready
/// after [`READY_TIMEOUT`] (the stack keeps running; the logs above say why).
pub(super) fn wait_for_document(
    addr: SocketAddr,
    page: &str,
    children: &mut [&mut Managed],
    services: &mut Services,
    shutdown: &Shutdown,
) -> Result<Option<String>> {
    let started = Instant::now();
    loop {
        if shutdown.requested() {
            return Ok(None);
        }
        check_children(children, services)?;
        let last = match http::get(addr, page, Duration::from_secs(2)) {
            Ok(resp) if resp.status == 200 => return Ok(Some(resp.text())),
            Ok(resp) => format!("HTTP {}: {}", resp.status, first_line(&resp.text())),
            Err(err) => format!("{err}"),
        };
        if started.elapsed() > READY_TIMEOUT {
            eprintln!(
                "xtask: warning: http://{addr}{page} did not answer 200 within {}s \
                 (last: {last}). The stack keeps running; see the logs above.",
                READY_TIMEOUT.as_secs()
            );
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// Runs until Ctrl-C/SIGTERM (Ok) or until any child dies (Err).
pub(super) fn supervise(
    children: &mut [&mut Managed],
    services: &mut Services,
    shutdown: &Shutdown,
) -> Result<()> {
    while !shutdown.requested() {
        check_children(children, services)?;
        thread::sleep(POLL);
    }
    Ok(())
}

fn check_children(children: &mut [&mut Managed], services: &mut Services) -> Result<()> {
    for child in children.iter_mut() {
        if let Some(status) = child.exited() {
            bail!(
                "{} exited unexpectedly ({})",
                child.name(),
                describe_status(status)
            );
        }
    }
    if let Some(what) = services.exited() {
        bail!("throwaway {what} unexpectedly");
    }
    Ok(())
}

fn first_line(body: &str) -> &str {
    let line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    match line.char_indices().nth(160) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}
