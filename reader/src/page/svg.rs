//! The page's two drawings, inline SVG: the 24-hour players sparkline and the 90 daily bars.
//!
//! Inline so the page needs no second request, no image the CSP would have to allow, and no
//! JavaScript; the colours are CSS classes, so dark mode is the stylesheet's business. Every
//! drawing has `role="img"` and an `aria-label` that says in words what it shows, and each
//! bar a `<title>` (the browser's tooltip) with its day's numbers. Attributes that are bare
//! numbers go unquoted: with 90 bars per server that is most of the page's bytes, and the
//! page has a size budget. Loops are bounded by the document's own limits ([`DAYS`],
//! [`SPARK_POINTS`]) whatever the stored vectors hold.

use std::fmt::Write as _;

use status_document::page::{DAYS, DayBar, SPARK_POINTS};

use super::time::{push_date, push_duration, push_percent, push_uint};
use super::words::Words;

/// Sparkline geometry (viewBox units): one point every [`SPARK_STEP`], inside a box of
/// [`SPARK_H`] with a margin so the stroke is not cut.
const SPARK_STEP: usize = 4;
const SPARK_H: u64 = 40;

/// Bar height (viewBox units): day `i` is a stroke at `x = i`, `.7` wide (the page's CSS)
/// and [`BAR_H`] high, so a bar is `M{i},0v{BAR_H}`: a few bytes per day.
const BAR_H: &str = "9";

/// The players sparkline: one polyline per run of counted points, gaps where nothing was
/// counted (a gap is not a zero).
pub fn sparkline(out: &mut String, points: &[Option<u32>], w: &Words) {
    let points = &points[points.len().saturating_sub(SPARK_POINTS)..];
    let peak = points.iter().flatten().copied().max();
    let _ = write!(
        out,
        "<svg class=\"spark\" viewBox=\"0 0 {} {SPARK_H}\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"{}: ",
        SPARK_POINTS * SPARK_STEP,
        w.players_24h
    );
    match peak {
        Some(peak) => {
            let _ = write!(out, "{} {peak}\">", w.peak);
        }
        None => {
            let _ = write!(out, "{}\">", w.no_data);
        }
    }
    let scale = u64::from(peak.unwrap_or(0).max(1));
    let mut open = false;
    for (i, point) in points.iter().enumerate() {
        match (point, open) {
            (Some(v), _) => {
                // The stroke keeps its width however the box is stretched: an attribute,
                // as the Nu HTML Checker's CSS knows no `vector-effect` property.
                out.push_str(if open {
                    " "
                } else {
                    "<polyline vector-effect=\"non-scaling-stroke\" points=\""
                });
                let y = 2 + (SPARK_H - 4) * (scale - u64::from(*v).min(scale)) / scale;
                push_point(out, i * SPARK_STEP, y);
                // A lone point gets a short level stroke, or it would not show.
                if !open && !matches!(points.get(i + 1), Some(Some(_))) {
                    out.push(' ');
                    push_point(out, i * SPARK_STEP + 2, y);
                }
                open = true;
            }
            (None, true) => {
                out.push_str("\"/>");
                open = false;
            }
            (None, false) => {}
        }
    }
    if open {
        out.push_str("\"/>");
    }
    out.push_str("</svg>");
}

/// `x,y` of a polyline.
fn push_point(out: &mut String, x: usize, y: u64) {
    push_uint(out, x as u64);
    out.push(',');
    push_uint(out, y);
}

/// A day's colour class: `u` nothing observed (grey, never downtime), `d` offline most of
/// the observed up-or-down time, `p` some offline, `m` maintenance and no offline (blue:
/// planned, never counted as an outage), `o` online all along.
pub fn day_class(day: &DayBar) -> char {
    let (on, off, mnt) = (
        u64::from(day.online_s),
        u64::from(day.offline_s),
        u64::from(day.maintenance_s),
    );
    match () {
        _ if on + off + mnt == 0 => 'u',
        _ if off > 0 && off * 2 >= on + off => 'd',
        _ if off > 0 => 'p',
        _ if mnt > 0 => 'm',
        _ => 'o',
    }
}

/// What a day's tooltip says after its date: ` · uptime 99.3% · outage 10 min ·
/// maintenance 2 h`, or ` · no data`. Uptime is online over online and offline:
/// maintenance and unobserved time are left out of it, as in the stored windows.
pub fn day_words(out: &mut String, day: &DayBar, w: &Words) {
    let (on, off) = (u64::from(day.online_s), u64::from(day.offline_s));
    out.push_str(" · ");
    if day_class(day) == 'u' {
        out.push_str(w.no_data);
        return;
    }
    let mut sep = "";
    if on + off > 0 {
        out.push_str(w.uptime);
        out.push(' ');
        push_percent(out, on as f64 * 100.0 / (on + off) as f64);
        sep = " · ";
    }
    for (secs, word) in [
        (off, w.outage),
        (u64::from(day.maintenance_s), w.maintenance),
    ] {
        if secs > 0 {
            out.push_str(sep);
            out.push_str(word);
            out.push(' ');
            push_duration(out, secs, &w.units);
            sep = " · ";
        }
    }
}

/// The daily bars, newest at the right. Consecutive days that say the same (same colour
/// and the same words: a run of clean days, of days with no data) are one `<path>` with
/// one tooltip naming the run's first and last date, so every bar has its tooltip and a
/// quiet quarter costs a few hundred bytes instead of ninety elements.
pub fn bars(out: &mut String, days: &[DayBar], w: &Words) {
    let days = &days[days.len().saturating_sub(DAYS)..];
    let offset = DAYS - days.len();
    const CLASSES: [char; 5] = ['o', 'p', 'd', 'm', 'u'];
    let mut counts = [0usize; 5];
    for day in days {
        if let Some(i) = CLASSES.iter().position(|&c| c == day_class(day)) {
            counts[i] += 1;
        }
    }
    let _ = write!(
        out,
        "<svg class=\"bars\" viewBox=\"-.5 0 {DAYS} {BAR_H}\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-label=\"{}: {} {}, {} {}, {} {}, {} {}\">",
        w.days,
        w.online,
        counts[0],
        w.outage,
        counts[1] + counts[2],
        w.maintenance,
        counts[3],
        w.no_data,
        counts[4],
    );
    // Each day's tooltip words once, end to end in one buffer: the runs compare them.
    let mut words = String::with_capacity(days.len() * 48);
    let mut ends = [0usize; DAYS];
    for (end, day) in ends.iter_mut().zip(days) {
        day_words(&mut words, day, w);
        *end = words.len();
    }
    let said = |i: usize| &words[if i == 0 { 0 } else { ends[i - 1] }..ends[i]];
    let mut i = 0;
    while i < days.len() {
        let class = day_class(&days[i]);
        let mut last = i;
        while last + 1 < days.len()
            && day_class(&days[last + 1]) == class
            && said(last + 1) == said(i)
        {
            last += 1;
        }
        out.push_str("<path class=");
        out.push(class);
        out.push_str(" d=");
        for x in offset + i..=offset + last {
            out.push('M');
            push_uint(out, x as u64);
            out.push_str(",0v");
            out.push_str(BAR_H);
        }
        out.push_str("><title>");
        push_date(out, days[i].day);
        if last > i {
            out.push_str(" – ");
            push_date(out, days[last].day);
        }
        out.push_str(said(i));
        out.push_str("</title></path>");
        i = last + 1;
    }
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::words::EN;

    fn day(on: u32, off: u32, mnt: u32, unknown: u32) -> DayBar {
        DayBar {
            day: 1_796_601_600, // 2026-12-07
            online_s: on,
            offline_s: off,
            maintenance_s: mnt,
            unknown_s: unknown,
        }
    }

    fn title(d: &DayBar) -> String {
        let mut s = String::new();
        push_date(&mut s, d.day);
        day_words(&mut s, d, &EN);
        s
    }

    #[test]
    fn colours_by_share() {
        assert_eq!(day_class(&day(86_400, 0, 0, 0)), 'o');
        assert_eq!(day_class(&day(86_000, 400, 0, 0)), 'p');
        assert_eq!(day_class(&day(400, 86_000, 0, 0)), 'd');
        assert_eq!(day_class(&day(0, 0, 86_400, 0)), 'm');
        assert_eq!(day_class(&day(80_000, 0, 6_400, 0)), 'm', "never downtime");
        assert_eq!(day_class(&day(0, 0, 0, 86_400)), 'u');
        assert_eq!(day_class(&day(0, 0, 0, 0)), 'u');
        let max = day(u32::MAX, u32::MAX, u32::MAX, u32::MAX);
        assert_eq!(day_class(&max), 'd', "no overflow");
    }

    #[test]
    fn tooltips() {
        assert_eq!(title(&day(86_400, 0, 0, 0)), "2026-12-07 · uptime 100%");
        assert_eq!(
            title(&day(84_600, 1_800, 7_200, 0)),
            "2026-12-07 · uptime 97.91% · outage 30 min · maintenance 2 h"
        );
        assert_eq!(title(&day(0, 0, 3_600, 0)), "2026-12-07 · maintenance 1 h");
        assert_eq!(title(&day(0, 0, 0, 86_400)), "2026-12-07 · no data");
        let mut d = day(1, 0, 0, 0);
        d.day = i64::MIN;
        assert_eq!(title(&d), "— · uptime 100%");
    }

    #[test]
    fn bars_are_bounded_and_runs_share_a_tooltip() {
        let days = vec![day(86_400, 0, 0, 0); 10_000];
        let mut s = String::new();
        bars(&mut s, &days, &EN);
        assert_eq!(s.matches("v9").count(), DAYS);
        assert_eq!(s.matches("<path").count(), 1);
        assert!(s.contains("aria-label=\"Daily uptime over the last 90 days: online 90, outage 0"));
        assert!(s.contains("<path class=o d=M0,0v9M1,0v9M2,0v9"));
        assert!(s.contains("M89,0v9><title>2026-12-07 – 2026-12-07 · uptime 100%</title></path>"));

        let mut days = Vec::new();
        for (i, d) in [
            day(0, 0, 0, 0),
            day(1, 1, 0, 0),
            day(86_400, 0, 0, 0),
            day(86_400, 0, 0, 0),
        ]
        .into_iter()
        .enumerate()
        {
            days.push(DayBar {
                day: d.day + i as i64 * 86_400,
                ..d
            });
        }
        let mut s = String::new();
        bars(&mut s, &days, &EN);
        assert!(s.contains("<path class=u d=M86,0v9><title>2026-12-07 · no data</title></path>"));
        assert!(s.contains(
            "<path class=d d=M87,0v9><title>2026-12-08 · uptime 50% · outage 1 s</title>"
        ));
        assert!(s.contains(
            "<path class=o d=M88,0v9M89,0v9><title>2026-12-09 – 2026-12-10 · uptime 100%</title>"
        ));
        assert!(s.contains("online 2, outage 1, maintenance 0, no data 1"));
        let mut s = String::new();
        bars(&mut s, &[], &EN);
        assert!(!s.contains("<path"));
    }

    #[test]
    fn sparkline_gaps_and_bounds() {
        let mut s = String::new();
        sparkline(&mut s, &[Some(0), Some(10), None, Some(5), None, None], &EN);
        assert_eq!(
            s.matches("<polyline vector-effect=\"non-scaling-stroke\" points=")
                .count(),
            2
        );
        assert!(s.contains("points=\"0,38 4,2\""));
        assert!(s.contains("points=\"12,20 14,20\""), "{s}");
        assert!(s.contains("peak 10"));
        let mut s = String::new();
        sparkline(&mut s, &vec![Some(u32::MAX); 100_000], &EN);
        assert_eq!(s.matches(',').count(), SPARK_POINTS);
        let mut s = String::new();
        sparkline(&mut s, &[None; 5], &EN);
        assert!(s.contains("no data") && !s.contains("<polyline"));
    }
}
