//! What the two live benches (`--changes` and `--game-server`) share: the throwaway MariaDB
//! they measure against, whose general log in a table counts each MySQL user's statements
//! exactly (a shared server's global counters cannot), and the parts of their reports that
//! read the same (the machine table, the notes, medians).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use dev_support::servers::{Server, Throwaway, WATCHED_MARIADB};

use crate::context::Context;
use crate::kv::Kv;
use crate::machine;
use crate::mysql::Admin;
use crate::targets::{self, Kind, Running};

/// How long the throwaway server may take to come up.
const START_LIMIT: Duration = Duration::from_secs(120);

/// A live bench's frame: its throwaway server, the run's context on it, and the admin and
/// Redis connections, from the start of the run to [`Setup::finish`].
pub struct Setup {
    pub server: Server,
    pub ctx: Context,
    pub admin: Admin,
    pub kv: Kv,
    /// The bench's name in its report's file name.
    bench: &'static str,
    request: Request,
    started: Instant,
    load_before: String,
}

/// What every live bench is asked besides its own counts.
#[derive(Debug, Clone)]
pub struct Request {
    pub redis_url: String,
    /// The command line, for the report.
    pub command: String,
    /// Notes so far (failed builds).
    pub notes: Vec<String>,
}

/// A live bench's report, as `bench` prints and files it.
pub trait LiveReport {
    /// The run it reports on.
    fn run(&self) -> &RunInfo;
    /// The markdown.
    fn render(&self) -> String;
}

impl Setup {
    /// Starts the throwaway server (`what` it is started with, for the messages) and a run
    /// context on it, and connects to it and to Redis.
    pub async fn start(
        bench: &'static str,
        what: &'static str,
        request: Request,
    ) -> anyhow::Result<Setup> {
        let started = Instant::now();
        let load_before = machine::load_average();
        eprintln!("bench: starting a throwaway MariaDB with {what}");
        let server = start_watched_mariadb(what).await?;
        let ctx = Context::new(server.url(), request.redis_url.clone())?;
        eprintln!("bench: run directory {}", ctx.run_dir.display());
        let admin = Admin::connect(&server.url()).await?;
        let kv = Kv::connect(&ctx.redis_url).await?;
        Ok(Setup {
            server,
            ctx,
            admin,
            kv,
            bench,
            request,
            started,
            load_before,
        })
    }

    /// Stops the throwaway server (the caller has removed its users and keys) and says what
    /// the run was, for the report.
    pub async fn finish(self) -> anyhow::Result<RunInfo> {
        let Setup {
            server,
            ctx,
            mut admin,
            mut kv,
            bench,
            request,
            started,
            load_before,
        } = self;
        let mariadb = admin.server_version().await;
        drop(admin);
        tokio::task::spawn_blocking(move || drop(server)).await?;
        let (date, stamp) = machine::today();
        Ok(RunInfo {
            bench,
            date,
            host: machine::hostname(),
            command: request.command,
            machine: machine::rows_with_services(stamp, mariadb, kv.version().await, &load_before),
            notes: request.notes,
            run_dir: ctx.run_dir,
            took_s: started.elapsed().as_secs_f64(),
        })
    }
}

/// What a live bench's report says about the run itself.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The bench's name in the report's file name.
    pub bench: &'static str,
    pub date: String,
    pub host: String,
    /// The command line.
    pub command: String,
    pub machine: Vec<(String, String)>,
    /// Notes so far (failed builds, unknowns).
    pub notes: Vec<String>,
    /// Logs of this run.
    pub run_dir: PathBuf,
    /// Wall time of the whole run, seconds.
    pub took_s: f64,
}

impl RunInfo {
    /// `<date>-<host>-<bench>.md`.
    pub fn file_name(&self) -> String {
        format!("{}-{}-{}.md", self.date, self.host, self.bench)
    }

    /// A report's opening: its title, the command with what it ran and how long the run
    /// took, and the machine.
    pub fn heading(&self, title: &str, what: &str) -> String {
        let mut out = format!("# {title}\n\n");
        let _ = writeln!(
            out,
            "`{}` — {what}; the run took {:.0} s.\n",
            self.command, self.took_s
        );
        machine_table(&mut out, &self.machine);
        out
    }
}

/// A throwaway MariaDB with dev-support's [`WATCHED_MARIADB`] settings (a row binlog, the
/// general log in a table); `what` says so in the error when it does not start.
async fn start_watched_mariadb(what: &'static str) -> anyhow::Result<Server> {
    tokio::task::spawn_blocking(|| {
        Throwaway::mariadb_in_temp_dir()
            .args(WATCHED_MARIADB)
            .timeout(START_LIMIT)
            .start()
    })
    .await?
    .with_context(|| format!("starting a throwaway mariadbd ({what})"))
}

/// The machine a report was measured on, as a two-column table.
pub fn machine_table(out: &mut String, machine: &[(String, String)]) {
    out.push_str("| | |\n|---|---|\n");
    for (name, value) in machine {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out.push('\n');
}

/// The notes of a run (failed builds, unknowns), when there are any.
pub fn notes(out: &mut String, notes: &[String]) {
    if !notes.is_empty() {
        out.push_str("\nNotes:\n\n");
        for note in notes {
            let _ = writeln!(out, "- {note}");
        }
    }
}

/// The median, the mean of the middle two for an even count.
pub fn median(values: &[Duration]) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

/// A reader-host serving `ctx`'s key (the reader's only use of the path is the static
/// target's; it has none here), and the address it listens on.
pub fn start_reader(ctx: &Context) -> anyhow::Result<(Running, SocketAddr)> {
    let reader = targets::start(Kind::Reader, ctx, &ctx.run_dir)?;
    let addr: SocketAddr = reader
        .url
        .trim_start_matches("http://")
        .trim_end_matches(targets::PATH)
        .parse()
        .with_context(|| format!("the reader's URL {}", reader.url))?;
    Ok((reader, addr))
}
