//! `GAME_SERVER_QUERY=<game id>`: the game's own query protocol, through `gamedig`.
//!
//! gamedig is blocking (std sockets with time-outs), so each query runs on tokio's blocking
//! pool, and never more than [`MAX_QUERIES`] at once: a large fleet cannot take every thread
//! of the pool. Each query is bounded twice: gamedig's socket time-outs are the probe's
//! limit (what remains of it after the name lookup), and the await is raced against the
//! same limit, so a protocol that takes several round trips (Valve's challenge, Minecraft's
//! fallbacks) still ends the probe in time; the thread then ends on its own time-outs.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use gamedig::protocols::types::{
    CommonResponse, ExtraRequestSettings, GatherToggle, GenericResponse, TimeoutSettings,
};
use gamedig::{GDError, GDErrorKind};
use status_document::{ServerInfo, StateReason};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use super::{Answer, Failure, tcp};
use crate::config::GameQuery;

/// Most gamedig queries running at once (each holds a blocking thread while it waits).
pub const MAX_QUERIES: usize = 64;

static QUERIES: LazyLock<Arc<Semaphore>> = LazyLock::new(|| Arc::new(Semaphore::new(MAX_QUERIES)));

/// Asks the game at `addr` (`host:port`) within `limit`.
pub(super) async fn query(
    query: &GameQuery,
    addr: &str,
    limit: Duration,
) -> Result<Answer, Failure> {
    let started = Instant::now();
    let target = resolve(addr, limit).await?;
    let left = limit
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    // Waiting for a turn is the refresher's load, not the game server's: it is not timed.
    let Ok(permit) = QUERIES.clone().acquire_owned().await else {
        unreachable!("the query semaphore is never closed");
    };
    let game = query.game;
    let asked = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let timeouts = TimeoutSettings::new(Some(left), Some(left), Some(left), 0)?;
        let response = gamedig::query_with_timeout_and_extra_settings(
            game,
            &target.ip(),
            Some(target.port()),
            Some(timeouts),
            Some(only_what_we_publish(game)),
        )?;
        Ok::<_, GDError>(answer(response.as_ref(), game.name))
    });
    let (reason, detail) = match timeout(left, asked).await {
        Ok(Ok(Ok(answer))) => return Ok(answer),
        Ok(Ok(Err(e))) => return Err(failure(&e, addr, limit).await),
        Ok(Err(e)) => (StateReason::BadAnswer, format!("the query failed: {e}")),
        Err(_) => (
            StateReason::Timeout,
            format!("no {} answer within {limit:?}", query.id),
        ),
    };
    Err(Failure::new(reason, addr, detail))
}

/// The game's own request settings, without the rounds that ask for player names and
/// server rules (Valve's A2S_PLAYER and A2S_RULES, Unreal 2's): nothing of them is
/// published, and each is one more round trip for the game server. A game whose
/// definition insists on the player list (its info answer miscounts) keeps it.
fn only_what_we_publish(game: &gamedig::games::Game) -> ExtraRequestSettings {
    let mut settings = game.request_settings.clone();
    if settings.gather_players != Some(GatherToggle::Enforce) {
        settings.gather_players = Some(GatherToggle::Skip);
    }
    settings.gather_rules = Some(GatherToggle::Skip);
    settings
}

/// The address's first IP, bounded by `limit`; a name that does not resolve is unreachable.
async fn resolve(addr: &str, limit: Duration) -> Result<SocketAddr, Failure> {
    let (reason, detail) = match timeout(limit, tokio::net::lookup_host(addr)).await {
        Ok(Ok(mut found)) => match found.next() {
            Some(first) => return Ok(first),
            None => (
                StateReason::Unreachable,
                "the name has no address".to_owned(),
            ),
        },
        Ok(Err(e)) => (StateReason::Unreachable, format!("cannot resolve: {e}")),
        Err(_) => (
            StateReason::Timeout,
            format!("name lookup took over {limit:?}"),
        ),
    };
    Err(Failure::new(reason, addr, detail))
}

/// What a gamedig error means for the published word.
async fn failure(e: &GDError, addr: &str, limit: Duration) -> Failure {
    let io = e
        .source
        .as_ref()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    let detail = match &e.source {
        Some(source) => format!("{:?}: {source}", e.kind),
        None => format!("{:?}", e.kind),
    };
    let reason = match (&e.kind, io) {
        (_, Some(ErrorKind::WouldBlock | ErrorKind::TimedOut)) => StateReason::Timeout,
        (
            GDErrorKind::SocketConnect
            | GDErrorKind::HostLookup
            | GDErrorKind::PacketSend
            | GDErrorKind::SocketBind
            | GDErrorKind::PacketReceive,
            _,
        ) => StateReason::Unreachable,
        // gamedig tried every variant of the protocol (Minecraft's Java, Bedrock and legacy
        // pings) and kept no cause: a TCP connect tells a dead port from one that answered
        // in a way none of them understood.
        (GDErrorKind::AutoQuery, _) => match tcp::connect(addr, limit).await {
            Ok(()) => StateReason::BadAnswer,
            Err(why) => return Failure::new(why.reason, addr, format!("{detail}; {}", why.detail)),
        },
        _ => StateReason::BadAnswer,
    };
    Failure::new(reason, addr, detail)
}

/// The publishable part of a gamedig response: counts and the server's own texts.
fn answer(response: &dyn CommonResponse, game: &str) -> Answer {
    let quake = matches!(response.as_original(), GenericResponse::Quake(_));
    let text = |raw: Option<&str>| {
        raw.map(|t| {
            if quake {
                strip_quake_colours(t)
            } else {
                t.to_owned()
            }
        })
        .and_then(|t| ServerInfo::text(&t))
    };
    let bots = response.players_bots().map(u64::from);
    // Valve's A2S counts bots among the players: people are the rest.
    let players = u64::from(response.players_online()).saturating_sub(bots.unwrap_or(0));
    Answer {
        players: (!quake).then_some(players),
        max_players: u64::from(response.players_maximum()),
        bots,
        server: ServerInfo {
            name: text(response.name()),
            game: ServerInfo::text(game),
            map: text(response.map()),
            version: text(response.game_version()),
        },
    }
}

/// Quake's colour codes (`^1Red ^7White`) are markup, not text.
fn strip_quake_colours(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '^' {
            match chars.next() {
                Some(next) if next.is_ascii_alphanumeric() => {}
                Some(next) => {
                    out.push(c);
                    out.push(next);
                }
                None => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests;
