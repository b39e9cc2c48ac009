//! What the bench measures beside the load table: the refresher's costs (RSS, refresh time, statements),
//! end-to-end freshness, and the reader's JSON validation cost.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::context::Context;
use crate::kv::Kv;
use crate::mysql::{Admin, Counters};
use crate::process::{self, get, run_bounded};
use crate::targets::{self, Kind};

/// The refresher with the run's settings; `interval_s` and `meta` vary per measurement.
pub fn refresher(
    ctx: &Context,
    database_url: &str,
    key: &str,
    interval_s: u64,
    meta: &str,
) -> Command {
    let mut command = Command::new(&ctx.artifacts.refresher);
    for var in [
        "DB_HOST",
        "DB_PORT",
        "DB_USER",
        "DB_PASSWORD",
        "DB_NAME",
        "STATUS_MAPPING",
    ] {
        command.env_remove(var);
    }
    command
        .env("REDIS_URL", &ctx.redis_url)
        .env("DATABASE_URL", database_url)
        .env("STATUS_KEY", key)
        .env("STATUS_INTERVAL_KEY", &ctx.interval_key)
        .env("STATUS_UPDATE_INTERVAL", interval_s.to_string())
        .env(
            "STATUS_CACHE_TTL",
            (interval_s * 3 / 2).max(900).to_string(),
        )
        .env("STATUS_META", meta)
        .env("RUST_LOG", "warn");
    command
}

/// Runs `status-refresher --once`; `Ok(ms)` on success, `Err(stderr summary)` otherwise.
pub fn refresh_once(
    ctx: &Context,
    database_url: &str,
    key: &str,
    meta: &str,
) -> anyhow::Result<Result<f64, String>> {
    if !ctx.artifacts.refresher.is_file() {
        bail!(
            "status-refresher not built ({})",
            ctx.artifacts.refresher.display()
        );
    }
    let mut command = refresher(ctx, database_url, key, 600, meta);
    command.arg("--once");
    let start = Instant::now();
    let output = run_bounded(command, Duration::from_secs(120))?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if output.status.success() {
        Ok(Ok(ms))
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Ok(Err(format!(
            "{} after {ms:.0} ms: {}",
            output.status,
            strip_ansi(last).trim()
        )))
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Median of `runs` one-refresh timings (the first failure is returned as is).
pub fn time_refresh(
    ctx: &Context,
    database_url: &str,
    key: &str,
    meta: &str,
    runs: usize,
) -> Result<f64, String> {
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        match refresh_once(ctx, database_url, key, meta) {
            Ok(Ok(ms)) => times.push(ms),
            Ok(Err(why)) => return Err(why),
            Err(e) => return Err(e.to_string()),
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Statements one `--once` refresh costs the server.
pub async fn statements_per_refresh(ctx: &Context, admin: &mut Admin) -> anyhow::Result<Counters> {
    let key = format!("{}:stmts", ctx.status_key);
    let before = admin.counters().await?;
    let result = refresh_once(ctx, &ctx.database_url(), &key, "all")?;
    let after = admin.counters().await?;
    let mut kv = Kv::connect(&ctx.redis_url).await?;
    let _ = kv.del(&refresher_keys(&key)).await;
    result.map_err(anyhow::Error::msg)?;
    Ok(admin.delta(before, after))
}

/// Keys a refresher writes for `key`.
pub fn refresher_keys(key: &str) -> Vec<String> {
    vec![
        key.to_owned(),
        status_document::keys::last_good_key(key),
        status_document::keys::lock_key(key),
        status_document::keys::history_key(key),
    ]
}

/// VmRSS of a refresher daemon 2 s after its first refresh landed in Redis.
pub async fn refresher_idle_rss(ctx: &Context) -> anyhow::Result<u64> {
    if !ctx.artifacts.refresher.is_file() {
        bail!("status-refresher not built");
    }
    let key = format!("{}:rss", ctx.status_key);
    let mut kv = Kv::connect(&ctx.redis_url).await?;
    let mut server = process::spawn(
        "refresher-rss",
        refresher(ctx, &ctx.database_url(), &key, 600, "all"),
        &ctx.log("refresher-rss"),
    )?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let result = loop {
        if let Some(status) = server.exited() {
            break Err(anyhow::anyhow!("refresher exited ({status})"));
        }
        if kv.get(&key).await?.is_some() {
            tokio::time::sleep(Duration::from_secs(2)).await;
            break crate::procfs::vm_rss_kib(server.pid()).context("no VmRSS in /proc");
        }
        if Instant::now() > deadline {
            break Err(anyhow::anyhow!("no document within 20 s"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(server);
    let _ = kv.del(&refresher_keys(&key)).await;
    result
}

/// What a running refresher costs MySQL per refresh, once its connection is open.
#[derive(Debug, Clone, Copy)]
pub struct SteadyState {
    pub refreshes: u64,
    pub delta: Counters,
}

/// Time from an `UPDATE` of RateExp to the new value at the reader's endpoint, with a
/// refresher on the shortest interval it accepts (tries 1, 2, then 10 s); then, with the
/// same refresher, the statements per refresh in steady state.
pub async fn freshness(
    ctx: &Context,
    admin: &mut Admin,
    static_file: &std::path::Path,
) -> anyhow::Result<((f64, u64), Option<SteadyState>)> {
    if !ctx.artifacts.refresher.is_file() {
        bail!("status-refresher not built");
    }
    let mut chosen = None;
    for interval in [1u64, 2, 10] {
        let name = format!("refresher-fresh-{interval}");
        let mut server = process::spawn(
            &name,
            refresher(ctx, &ctx.database_url(), &ctx.status_key, interval, "all"),
            &ctx.log(&name),
        )?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        if server.exited().is_none() {
            chosen = Some((server, interval));
            break;
        }
    }
    let Some((_refresher, interval)) = chosen else {
        bail!("the refresher refused intervals 1, 2 and 10 s");
    };
    let running = targets::start(Kind::Reader, ctx, static_file)?;
    let addr: std::net::SocketAddr = running
        .url
        .trim_start_matches("http://")
        .trim_end_matches(targets::PATH)
        .parse()?;
    let value = 5.0 + f64::from(fastrand::u8(1..200)) / 8.0;
    admin
        .exec(&format!(
            "UPDATE `{}`.constants SET Value = '{value}' WHERE Name = 'RateExp'",
            ctx.database
        ))
        .await?;
    let start = Instant::now();
    let bound = Duration::from_secs(interval * 3 + 15);
    let mut visible = None;
    while start.elapsed() < bound {
        let probe = tokio::task::spawn_blocking(move || get(addr, targets::PATH)).await?;
        if let Ok((200, body)) = probe
            && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body)
            && json["rates"]["exp"].as_f64() == Some(value)
        {
            visible = Some(start.elapsed().as_secs_f64() * 1e3);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let Some(ms) = visible else {
        bail!("the new value did not appear within {bound:?}");
    };
    drop(running);
    let steady = if interval <= 2 {
        steady_state(ctx, admin, interval).await.ok()
    } else {
        None
    };
    Ok(((ms, interval), steady))
}

/// Counts refreshes (distinct `updated_at` in Redis, polled every 50 ms) and statements over
/// a window of a few intervals.
async fn steady_state(
    ctx: &Context,
    admin: &mut Admin,
    interval: u64,
) -> anyhow::Result<SteadyState> {
    let mut kv = Kv::connect(&ctx.redis_url).await?;
    let updated_at = |bytes: Option<Vec<u8>>| {
        bytes
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|j| j["updated_at"].as_f64())
    };
    // Start right after a refresh so the window holds whole refreshes.
    let first = updated_at(kv.get(&ctx.status_key).await?);
    let deadline = Instant::now() + Duration::from_secs(interval * 3 + 5);
    let mut last = first;
    while last == first && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        last = updated_at(kv.get(&ctx.status_key).await?);
    }
    let before = admin.counters().await?;
    let window = Duration::from_secs(interval * 5);
    let start = Instant::now();
    let mut refreshes = 0u64;
    while start.elapsed() < window {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = updated_at(kv.get(&ctx.status_key).await?);
        if now != last {
            refreshes += 1;
            last = now;
        }
    }
    // Let a refresh that started inside the window finish its statement before reading.
    let after = admin.counters().await?;
    let delta = admin.delta(before, after);
    Ok(SteadyState { refreshes, delta })
}

/// Native cost of the reader's validation pass over `document`, µs per call.
pub fn parse_cost_us(document: &[u8]) -> f64 {
    let iterations = 20_000u32;
    let start = Instant::now();
    for _ in 0..iterations {
        let view = status_document::DocumentView::parse(std::hint::black_box(document));
        std::hint::black_box(&view);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

/// What the history costs, natively, on `history` (a full one).
#[derive(Debug, Clone, Copy)]
pub struct HistoryCosts {
    pub bytes: usize,
    /// The refresher's work per write: parse the stored history, record, serialise (µs).
    pub record_us: f64,
    /// The reader's `/server/status/history` logic (µs per request).
    pub serve_us: f64,
}

pub fn history_costs(history: &[u8]) -> HistoryCosts {
    use status_document::history::{History, Observation};
    let iterations = 500u32;
    let start = Instant::now();
    for i in 0..iterations {
        let mut h = History::parse(std::hint::black_box(history)).expect("the seeded history");
        let at = h.updated_at + f64::from(i % 3);
        h.record(&Observation {
            at,
            state: status_document::State::Online,
            reason: None,
            players: Some(120),
            vouch_s: 30,
            maintenance_until: None,
        });
        std::hint::black_box(h.to_json());
    }
    let record_us = start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations);
    HistoryCosts {
        bytes: history.len(),
        record_us,
        serve_us: logic_cost_us(history, crate::targets::HISTORY_PATH, 500),
    }
}

/// The reader's whole request logic (`status_reader::handle`: route, one validation pass,
/// freshness, ETag, splice), native, with the document already in memory: µs per request.
/// Set against the host's per-request time it shows what the logic costs next to the
/// runtime's floor (instantiation, the Redis round trip, HTTP).
pub fn reader_logic_cost_us(document: &[u8]) -> f64 {
    logic_cost_us(document, crate::targets::PATH, 20_000)
}

/// The reader's `GET /status` natively on `page` (the `reader-page` fixture): its bytes and
/// µs per request. Set against `/server/status`'s it shows what parsing and rendering the
/// page add to each request.
pub fn page_cost(page: &[u8]) -> (usize, f64) {
    (page.len(), logic_cost_us(page, "/status", 2_000))
}

/// `status_reader::handle` for `path`, every key holding `stored`: µs per request.
fn logic_cost_us(stored: &[u8], path: &str, iterations: u32) -> f64 {
    struct Fixed<'a>(&'a [u8]);
    impl status_reader::Store for Fixed<'_> {
        async fn get(&self, _key: &str) -> Result<Option<Vec<u8>>, status_reader::StoreError> {
            Ok(Some(self.0.to_vec()))
        }
        async fn ttl(&self, _key: &str) -> Result<Option<i64>, status_reader::StoreError> {
            Ok(Some(900))
        }
    }
    let config = status_reader::Config::from_lookup(|_| None);
    let request = status_reader::RequestHead::new("GET", path);
    let store = Fixed(stored);
    let now = crate::unix_now();
    let start = Instant::now();
    for _ in 0..iterations {
        let response = status_reader::handle(std::hint::black_box(&request), &config, &store, now);
        std::hint::black_box(&response);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}
