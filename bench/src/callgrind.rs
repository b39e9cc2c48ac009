//! `bench --callgrind N`: the reader host under valgrind's callgrind, for an instruction
//! profile of the requests alone.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::context::Context;
use crate::{load, process, targets};

/// Runs the reader host under callgrind (counters zeroed once it is serving),
/// sends `requests` requests for `path` at concurrency 1, and writes `callgrind_annotate`
/// output.
pub fn profile(
    ctx: &Context,
    requests: u32,
    control_component: bool,
    path: &str,
) -> anyhow::Result<()> {
    let Some(valgrind) = load::which("valgrind") else {
        bail!("valgrind is not installed");
    };
    let addr = process::free_port()?;
    let out = ctx.run_dir.join("callgrind.out");
    let mut command = std::process::Command::new(valgrind);
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&ctx.artifacts.reader_host)
        .arg("--manifest")
        .arg(if control_component {
            ctx.root.join("bench/control/spin.toml")
        } else {
            ctx.root.join("spin.toml")
        })
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--wasm")
        .arg(if control_component {
            &ctx.artifacts.control_wasm
        } else {
            &ctx.artifacts.reader_wasm
        })
        .arg("--variable")
        .arg(format!("redis_address={}", ctx.redis_url))
        .arg("--variable")
        .arg(format!("status_key={}", ctx.status_key))
        .env("RUST_LOG", "warn");
    let mut server = process::spawn("callgrind-host", command, &ctx.log("callgrind-host"))?;
    server.wait_http(addr, targets::PATH, Some(200), Duration::from_secs(600))?;
    let control = |arg: &str| {
        std::process::Command::new("callgrind_control")
            .arg(arg)
            .arg(server.pid().to_string())
            .status()
    };
    // Start-up (compiling the component, building the pool) is not what is profiled.
    control("--zero")?;
    let url = format!("http://{addr}{path}");
    let started = Instant::now();
    let mut done = 0u32;
    while done < requests {
        process::get(addr, path)?;
        done += 1;
    }
    eprintln!(
        "bench: {requests} requests under callgrind in {:.1} s ({url})",
        started.elapsed().as_secs_f64()
    );
    control("--dump=requests")?;
    server.stop(Duration::from_secs(10));
    let annotated = ctx.run_dir.join("callgrind.txt");
    // The explicit dump (`callgrind.out.1`) holds exactly the requests.
    let dump = ctx.run_dir.join("callgrind.out.1");
    let output = std::process::Command::new("callgrind_annotate")
        .arg("--inclusive=yes")
        .arg(&dump)
        .output()?;
    std::fs::write(&annotated, &output.stdout)?;
    eprintln!(
        "bench: profile in {} (raw: {})",
        annotated.display(),
        out.display()
    );
    Ok(())
}
