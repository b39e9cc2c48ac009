//! The history half of a server on the page: the 24-hour players, the daily bars, the
//! uptime and the incidents, derived from its [`History`] when the refresher writes that
//! history. It is what the refresher keeps per server instead of the history itself (a
//! few kilobytes rather than tens), so a thousand servers cost a few megabytes.

use super::outages::outages;
use super::{DAYS, DayBar, PageIncident, PageUptime, SPARK_POINTS};
use crate::history::{History, Seconds, Series};

/// Seconds per sparkline point: 96 points of 15 minutes make the 24 hours.
pub const SPARK_WIDTH_S: i64 = 900;
const DAY_S: i64 = 86_400;

/// What the page shows of one server's history at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct PageHistory {
    pub players_24h: Vec<Option<u32>>,
    pub days: Vec<DayBar>,
    pub uptime: PageUptime,
    pub incidents: Vec<PageIncident>,
}

impl PageHistory {
    /// The page's view of `history` at `now` (unix seconds; the refresher passes the time
    /// of the write that recorded the history, so nothing here reads a clock).
    pub fn of(history: &History, now: i64) -> PageHistory {
        let days = day_bars(history, now);
        let windows = history.view().uptime;
        let d90 = days.iter().fold(Seconds::default(), |mut s, d| {
            s.online += u64::from(d.online_s);
            s.offline += u64::from(d.offline_s);
            s
        });
        PageHistory {
            players_24h: sparkline(&history.fine, now),
            days,
            uptime: PageUptime {
                h24: windows.day,
                d7: windows.week,
                d30: windows.month,
                d90: d90.uptime(),
            },
            incidents: outages(history, now),
        }
    }
}

/// [`SPARK_POINTS`] points of [`SPARK_WIDTH_S`], UTC-aligned, the last holding `now`: each is
/// the **highest** player count any 5-minute bucket of it saw (the peak, not the mean, so a
/// busy evening is not flattened by the quiet minutes around it). `None`: no count at all.
fn sparkline(fine: &Series, now: i64) -> Vec<Option<u32>> {
    let last = now - now.rem_euclid(SPARK_WIDTH_S);
    let first = last - (SPARK_POINTS as i64 - 1) * SPARK_WIDTH_S;
    let mut points = vec![None; SPARK_POINTS];
    for (k, bucket) in fine.buckets.iter().enumerate() {
        let start = fine.start + k as i64 * fine.width_s;
        let (Some(players), true) = (bucket.players, start >= first && start <= last) else {
            continue;
        };
        let point = ((start - first) / SPARK_WIDTH_S) as usize;
        if let Some(p) = points.get_mut(point) {
            let max = u32::try_from(players.max).unwrap_or(u32::MAX);
            *p = Some(p.map_or(max, |seen: u32| seen.max(max)));
        }
    }
    points
}

/// [`DAYS`] UTC days ending with the one holding `now`, oldest first. Time of a day up to
/// `now` that the daily series did not count (before the history started, before the daily
/// series existed, a gap nobody recorded) is unknown: grey, never downtime.
fn day_bars(history: &History, now: i64) -> Vec<DayBar> {
    let today = now - now.rem_euclid(DAY_S);
    let daily = &history.daily;
    (0..DAYS as i64)
        .map(|back| {
            let day = today - (DAYS as i64 - 1 - back) * DAY_S;
            let counted = (day >= daily.start && daily.width_s == DAY_S)
                .then(|| daily.buckets.get(((day - daily.start) / DAY_S) as usize))
                .flatten()
                .map_or([0; 4], |b| b.seconds);
            let elapsed = (now - day).clamp(0, DAY_S) as u64;
            let seen: u64 = counted.iter().sum();
            let secs = |s: u64| u32::try_from(s).unwrap_or(u32::MAX);
            DayBar {
                day,
                online_s: secs(counted[0]),
                offline_s: secs(counted[1]),
                maintenance_s: secs(counted[2]),
                unknown_s: secs(counted[3] + elapsed.saturating_sub(seen)),
            }
        })
        .collect()
}
