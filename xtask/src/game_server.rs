//! The game server's stand-in for `cargo xtask up`, and `cargo xtask game-server
//! stop|start|status`, which closes and reopens it.
//!
//! The refresher's probe is a TCP connect, so all a stand-in has to do is accept and close:
//! a listener that is there is a game server that is up, a closed port is one that crashed
//! (the connect is refused). `up` runs it in-process on `--game-server` (default
//! [`DEFAULT_ADDR`], below the ephemeral range, so nothing else picks it by chance) and
//! points `GAME_SERVER_ADDR` at it.
//!
//! Control is one file, `target/xtask/game-server/stopped`: while it exists the listener is
//! closed. `up` looks for it every [`LOOK_EVERY`]; the `game-server` task creates or removes
//! it and waits until the port answers the way it asked. A file needs no signal plumbing,
//! works the same from any shell (`touch`/`rm` do it too), and `up` clears it at start and
//! at exit, so a stale one never outlives the run that used it. Beside it, `up` writes
//! `addr` (the stand-in's address and `up`'s pid), so the task knows where to look and can
//! tell that no `up` is running.

use std::fs;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::workspace::Workspace;

/// Where `up` listens for the refresher's probe unless `--game-server` says otherwise (a
/// port below 32768, outside Linux's ephemeral range).
pub const DEFAULT_ADDR: &str = "127.0.0.1:7777";

/// How often the stand-in looks at the control file (and accepts waiting connections).
pub const LOOK_EVERY: Duration = Duration::from_millis(100);

/// How long `game-server stop|start` waits for the stand-in to follow.
const FOLLOW_WITHIN: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Action {
    /// Close the stand-in's port: the refresher's probe is refused, the status goes offline.
    Stop,
    /// Open it again: the next probe succeeds, the status goes online.
    Start,
    /// Say whether the stand-in accepts connections now.
    Status,
}

#[derive(Debug, clap::Args)]
pub struct GameServerArgs {
    #[arg(value_enum)]
    action: Action,
}

/// The control directory: the `stopped` flag and the running stand-in's `addr`.
#[derive(Debug, Clone)]
pub struct Control {
    dir: PathBuf,
}

impl Control {
    /// `target/xtask/game-server` of this workspace.
    pub fn of(ws: &Workspace) -> Control {
        Control::at(ws.xtask_dir().join("game-server"))
    }

    pub fn at(dir: PathBuf) -> Control {
        Control { dir }
    }

    /// The flag: present = the stand-in's port is closed.
    pub fn stopped_flag(&self) -> PathBuf {
        self.dir.join("stopped")
    }

    fn addr_file(&self) -> PathBuf {
        self.dir.join("addr")
    }

    /// Records the running stand-in: its address and this process's pid.
    fn announce(&self, addr: SocketAddr) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let _ = fs::remove_file(self.stopped_flag());
        fs::write(
            self.addr_file(),
            format!("{addr}\n{}\n", std::process::id()),
        )
        .with_context(|| format!("writing {}", self.addr_file().display()))
    }

    fn withdraw(&self) {
        let _ = fs::remove_file(self.addr_file());
        let _ = fs::remove_file(self.stopped_flag());
    }

    /// The address of the stand-in of a running `up`, or why there is none.
    pub fn running(&self) -> Result<SocketAddr> {
        let file = self.addr_file();
        let text = match fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => bail!(
                "no game server stand-in is running from this workspace ({} is missing); \
                 start the stack with `cargo xtask up`",
                file.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
        };
        let (addr, pid) = parse_announcement(&text)
            .with_context(|| format!("{} is not `<addr>\\n<pid>`", file.display()))?;
        if !Path::new(&format!("/proc/{pid}")).exists() {
            bail!(
                "the `cargo xtask up` that started the stand-in (pid {pid}) is gone; \
                 start the stack with `cargo xtask up`"
            );
        }
        Ok(addr)
    }
}

fn parse_announcement(text: &str) -> Result<(SocketAddr, u32)> {
    let mut lines = text.lines();
    let addr = lines
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .context("bad address")?;
    let pid = lines
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .context("bad pid")?;
    Ok((addr, pid))
}

/// Whether `addr` accepts a TCP connection now (what the refresher's probe asks).
pub fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// The running stand-in; dropping it closes the port and clears the control files.
pub struct StandIn {
    addr: SocketAddr,
    quit: Arc<AtomicBool>,
    /// Connections accepted (and closed) so far.
    accepted: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    control: Control,
}

impl StandIn {
    /// Binds `addr` (a clear error when it is taken) and starts accepting, and closing, every
    /// connection; follows `control`'s flag from now on.
    pub fn start(addr: SocketAddr, control: Control) -> Result<StandIn> {
        let listener = bind(addr).map_err(|e| match e.kind() {
            ErrorKind::AddrInUse => anyhow::anyhow!(
                "{addr} (the game server stand-in) is already in use (another `cargo xtask \
                 up`, or a real game server?).\n\
                 See what holds it: ss -ltnp 'sport = :{port}'\n\
                 Or use another port: cargo xtask up --game-server 127.0.0.1:{next}",
                port = addr.port(),
                next = addr.port().wrapping_add(1).max(1024),
            ),
            _ => anyhow::Error::new(e).context(format!("cannot listen on {addr}")),
        })?;
        // Port 0 picks a free port; a restart reopens the same one.
        let addr = listener.local_addr().context("the stand-in's address")?;
        control.announce(addr)?;
        let quit = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let flag = control.stopped_flag();
        let thread = {
            let quit = Arc::clone(&quit);
            let accepted = Arc::clone(&accepted);
            thread::Builder::new()
                .name("game-server".into())
                .spawn(move || follow(listener, addr, &flag, &quit, &accepted))
                .context("starting the stand-in's thread")?
        };
        Ok(StandIn {
            addr,
            quit,
            accepted,
            thread: Some(thread),
            control,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted (and closed) so far: the probes it answered.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.control.withdraw();
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// The stand-in's loop: open while the flag is absent, closed while it is there.
fn follow(
    listener: TcpListener,
    addr: SocketAddr,
    flag: &Path,
    quit: &AtomicBool,
    accepted: &AtomicU64,
) {
    let mut open = Some(listener);
    let mut bind_error_said = false;
    while !quit.load(Ordering::Relaxed) {
        let stopped = flag.exists();
        if stopped && open.is_some() {
            open = None;
            println!("xtask: game server stand-in stopped: {addr} refuses connections");
        } else if !stopped && open.is_none() {
            match bind(addr) {
                Ok(listener) => {
                    open = Some(listener);
                    bind_error_said = false;
                    println!("xtask: game server stand-in started: {addr} accepts connections");
                }
                Err(e) if !bind_error_said => {
                    eprintln!("xtask: cannot reopen the game server stand-in on {addr}: {e}");
                    bind_error_said = true;
                }
                Err(_) => {}
            }
        }
        if let Some(listener) = &open {
            // Accept and close: the probe asks for no more than the handshake.
            while let Ok((stream, _)) = listener.accept() {
                drop(stream);
                accepted.fetch_add(1, Ordering::Relaxed);
            }
        }
        thread::sleep(LOOK_EVERY);
    }
}

/// `cargo xtask game-server stop|start|status`.
pub fn run(args: GameServerArgs) -> Result<ExitCode> {
    let control = Control::of(&Workspace::locate());
    let addr = control.running()?;
    let want = match args.action {
        Action::Status => {
            let word = if accepts(addr) {
                "started (accepts connections)"
            } else {
                "stopped (refuses connections)"
            };
            println!("xtask: the game server stand-in on {addr} is {word}");
            return Ok(ExitCode::SUCCESS);
        }
        Action::Stop => {
            let flag = control.stopped_flag();
            fs::write(&flag, b"").with_context(|| format!("creating {}", flag.display()))?;
            false
        }
        Action::Start => {
            let flag = control.stopped_flag();
            match fs::remove_file(&flag) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", flag.display())),
            }
            true
        }
    };
    let deadline = Instant::now() + FOLLOW_WITHIN;
    while accepts(addr) != want {
        if Instant::now() > deadline {
            bail!(
                "the stand-in on {addr} did not follow within {}s; is `cargo xtask up` still \
                 running?",
                FOLLOW_WITHIN.as_secs()
            );
        }
        thread::sleep(LOOK_EVERY);
    }
    if want {
        println!(
            "xtask: game server stand-in started: {addr} accepts connections; the next probe \
             brings the status back to online"
        );
    } else {
        println!(
            "xtask: game server stand-in stopped: {addr} refuses connections; within a few \
             probes the status says \"state\":\"offline\", \"state_reason\":\"unreachable\""
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_control() -> Control {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("xtask-game-server-{}-{nanos}", std::process::id()));
        Control::at(dir)
    }

    fn until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if f() {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        f()
    }

    /// The flag closes and reopens the same port; the control files say where it runs and
    /// are gone after it stops.
    #[test]
    fn the_flag_closes_and_reopens_the_port() {
        let control = temp_control();
        let stand_in = StandIn::start("127.0.0.1:0".parse().unwrap(), control.clone()).unwrap();
        let addr = stand_in.addr();
        assert_ne!(addr.port(), 0);
        assert_eq!(control.running().unwrap(), addr);
        // Probe after probe is accepted and closed: none is left in the backlog, which would
        // refuse connections once full (128), as a crashed server does.
        for batch in 1..=3u64 {
            for _ in 0..100 {
                assert!(accepts(addr));
            }
            assert!(
                until(Duration::from_secs(10), || stand_in.accepted()
                    >= batch * 100),
                "accepted {} of {}",
                stand_in.accepted(),
                batch * 100
            );
        }
        fs::write(control.stopped_flag(), b"").unwrap();
        assert!(
            until(Duration::from_secs(10), || !accepts(addr)),
            "still accepting"
        );
        fs::remove_file(control.stopped_flag()).unwrap();
        assert!(
            until(Duration::from_secs(10), || accepts(addr)),
            "not reopened"
        );
        drop(stand_in);
        assert!(!accepts(addr), "closed when dropped");
        let err = control.running().unwrap_err().to_string();
        assert!(err.contains("cargo xtask up"), "{err}");
        let _ = fs::remove_dir_all(&control.dir);
    }

    #[test]
    fn a_taken_port_is_reported_with_a_way_out() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let control = temp_control();
        let err = match StandIn::start(addr, control.clone()) {
            Ok(_) => panic!("{addr} was bound twice"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("already in use"), "{err}");
        assert!(err.contains("--game-server"), "{err}");
        let _ = fs::remove_dir_all(&control.dir);
    }

    #[test]
    fn an_announcement_from_a_gone_process_says_so() {
        let control = temp_control();
        fs::create_dir_all(&control.dir).unwrap();
        // Pid 0 is never a process of ours: /proc/0 does not exist.
        fs::write(control.addr_file(), "127.0.0.1:7777\n0\n").unwrap();
        let err = control.running().unwrap_err().to_string();
        assert!(err.contains("is gone"), "{err}");
        fs::write(control.addr_file(), "nonsense").unwrap();
        assert!(control.running().is_err());
        assert_eq!(
            parse_announcement("127.0.0.1:7777\n42\n").unwrap(),
            ("127.0.0.1:7777".parse().unwrap(), 42)
        );
        let _ = fs::remove_dir_all(&control.dir);
    }
}
