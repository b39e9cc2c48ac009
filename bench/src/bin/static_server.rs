//! `static-server`: returns the bytes of one file for every request.
//!
//! The static ceiling when nginx is not installed: the least any server can do to answer
//! with the status document over HTTP on this machine.

use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use clap::Parser;

#[derive(Parser)]
#[command(about = "Serve one file's bytes on every path (bench static ceiling)")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3300")]
    listen: SocketAddr,
    /// The file whose bytes are served.
    #[arg(long)]
    file: PathBuf,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    bench::serve::init_tracing();
    let args = Args::parse();
    let body = Bytes::from(std::fs::read(&args.file)?);
    bench::runtime(args.threads)?.block_on(bench::serve::serve(args.listen, move || {
        let body = body.clone();
        async move { bench::serve::json(body) }
    }))
}
