//! Rendering: hostile values, the summary line, the vouch rule, incidents, the size bound.

use status_document::page::{DayBar, PageUptime};

use super::*;
use crate::page::tests::{GEN, page, server};

const NOW: f64 = GEN as f64 + 10.0;

fn en(doc: &PageDocument) -> String {
    render(doc, NOW, Lang::En)
}

#[test]
fn a_full_page_has_every_part() {
    let mut s = server("eu-1", State::Offline);
    s.state_reason = Some(StateReason::Unreachable);
    let html = en(&page(vec![s]));
    for part in [
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
        "<title>Server status</title>",
        "<meta name=\"description\" content=\"",
        "<link rel=\"icon\" href=\"data:,\">",
        "<style>:root{color-scheme:light dark;",
        "prefers-color-scheme:dark",
        "<h1>Server status</h1>",
        "<p class=\"sum d\" role=\"status\">Major outage</p>",
        "<h2>Server eu-1</h2>",
        "<p class=\"d\"><strong>Offline</strong> · unreachable</p>",
        "<p>Players: — / 1000</p>",
        "<svg class=\"spark\"",
        "role=\"img\" aria-label=\"Players over the last 24 hours: peak 950\">",
        "<svg class=\"bars\"",
        "aria-label=\"Daily uptime over the last 90 days: online 87, outage 1, maintenance 1, no data 1\"",
        "<dt>uptime 24 h</dt><dd>100%</dd><dt>uptime 7 days</dt><dd>99.95%</dd>",
        "<dd>99.5%</dd><dt>uptime 90 days</dt><dd>98.12%</dd>",
        "<h3>Incidents in the last 14 days</h3>",
        "Updated <time datetime=\"2023-11-14T22:13:20Z\">2023-11-14 22:13 UTC</time>",
    ] {
        assert!(html.contains(part), "{part} not in the page");
    }
    assert!(!html.contains("<script"), "no script at all");
    assert!(!html.contains("/servers\">"), "every server listed");
    assert_eq!(html.matches("<h2>").count(), 1);
}

#[test]
fn the_ongoing_incident_and_honest_durations() {
    let html = en(&page(vec![server("eu-1", State::Online)]));
    assert!(html.contains(
        "<span class=\"d\">Offline · timeout</span> 2023-11-14 21:13 UTC – ongoing (13 min)</li>"
    ));
    assert!(html.contains("> 2023-11-14 20:13 UTC – 2023-11-14 20:26 UTC (13 min)</li>"));
    assert_eq!(html.matches("<li><span").count(), MAX_PAGE_INCIDENTS);
    let mut s = server("eu-1", State::Online);
    s.incidents.clear();
    assert!(en(&page(vec![s.clone()])).contains("<p>No incidents.</p>"));
    // Older than 14 days before the write: not shown.
    s.incidents = server("eu-1", State::Online).incidents;
    s.incidents[0].end = Some(GEN as i64 - INCIDENT_WINDOW_S - 1);
    s.incidents.truncate(1);
    assert!(en(&page(vec![s])).contains("No incidents."));
}

#[test]
fn the_summary_line_for_each_mix() {
    use State::*;
    let w = words(Lang::En);
    let line = |states: &[State]| summary_line(states, w).1;
    assert_eq!(line(&[Online, Online]), "All systems operational");
    assert_eq!(line(&[Online, Offline]), "Partial outage");
    assert_eq!(line(&[Offline, Offline]), "Major outage");
    assert_eq!(line(&[Offline, Maintenance]), "Partial outage");
    assert_eq!(line(&[Online, Maintenance]), "Maintenance in progress");
    assert_eq!(line(&[Maintenance, Unknown]), "Maintenance in progress");
    assert_eq!(line(&[Unknown, Unknown]), "Status not known");
    assert_eq!(
        line(&[Online, Unknown]),
        "Some servers' status is not known"
    );
    assert_eq!(line(&[]), "No servers are listed");
    assert_eq!(summary_line(&[Offline], w).0, 'd');
    assert_eq!(summary_line(&[Online, Offline], w).0, 'p');
    assert_eq!(summary_line(&[Online], w).0, 'o');
    let ru = words(Lang::Ru);
    assert_eq!(summary_line(&[Online], ru).1, "Все системы работают");
}

#[test]
fn past_its_vouch_a_server_is_not_known() {
    let mut s = server("eu-1", State::Online);
    s.vouched_until = GEN - 1;
    let html = en(&page(vec![s.clone()]));
    assert!(html.contains("<p class=\"u\"><strong>Not known</strong> · last known Online</p>"));
    assert!(html.contains("Status not known"));
    assert!(html.contains("<p>Players: — / 1000</p>"), "no stale count");
    assert_eq!(shown_state(&s, f64::NAN), State::Unknown);
    assert_eq!(shown_state(&s, (GEN - 1) as f64), State::Online);
}

#[test]
fn maintenance_and_notices() {
    let mut a = server("a", State::Maintenance);
    a.maintenance_until = Some(1_796_666_400.0); // 2026-12-07 18:00 UTC
    a.message = Some("Patch <b>2.0</b> \"soon\"".into());
    let b = server("b", State::Online);
    let html = en(&page(vec![a.clone(), b]));
    assert!(html.contains(
        "<ul><li><strong>Server a:</strong> Maintenance until 2026-12-07 18:00 UTC. \
         Patch &lt;b&gt;2.0&lt;/b&gt; &quot;soon&quot;</li></ul>"
    ));
    assert!(html.contains("<p class=\"m\"><strong>Maintenance until 2026-12-07 18:00 UTC"));
    assert!(html.contains("Maintenance in progress"));
    // One server: no name before its notice; a bad end time is left out.
    a.maintenance_until = Some(f64::NAN);
    let html = en(&page(vec![a]));
    assert!(html.contains("<ul><li>Maintenance. Patch"));
}

#[test]
fn hostile_values_are_text_and_bounded() {
    let mut s = server("eu-1", State::Offline);
    s.name = format!("<script>alert(1)</script>\"{}", "n".repeat(10_000));
    s.message = Some(format!(
        "<img src=x onerror=alert(1)>{}",
        "m".repeat(10_000)
    ));
    s.players = Some(u64::MAX);
    s.max_players = Some(u64::MAX);
    s.maintenance_until = Some(f64::INFINITY);
    s.uptime = PageUptime {
        h24: Some(f64::NAN),
        d7: Some(f64::INFINITY),
        d30: Some(-3.0),
        d90: Some(1e308),
    };
    s.players_24h = vec![Some(u32::MAX); 100_000];
    s.days = vec![
        DayBar {
            day: i64::MAX,
            online_s: u32::MAX,
            offline_s: u32::MAX,
            maintenance_s: u32::MAX,
            unknown_s: u32::MAX,
        };
        100_000
    ];
    s.incidents = vec![s.incidents[0].clone(); 100_000];
    s.incidents[0].start = i64::MIN;
    s.incidents[0].duration_s = u64::MAX;
    s.vouched_until = u64::MAX;
    let mut doc = page(vec![s; 500]);
    doc.generated_at = u64::MAX;
    doc.total_servers = usize::MAX;
    let html = en(&doc);
    assert!(!html.contains("<script>") && !html.contains("<img"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;"));
    assert_eq!(html.matches("<h2>").count(), MAX_PAGE_SERVERS);
    assert_eq!(html.matches("v9").count(), MAX_PAGE_SERVERS * 90);
    assert_eq!(
        html.matches("<li><span").count(),
        MAX_PAGE_SERVERS * MAX_PAGE_INCIDENTS
    );
    assert!(html.contains("<dd>—</dd>") && !html.contains("NaN") && !html.contains(">inf"));
    assert!(html.contains("Players: — / —"));
    assert!(html.contains("Updated —"));
    assert!(html.contains("<a href=\"/servers\">/servers</a>"));
    let name_cut = format!("{}…</h2>", "n".repeat(MAX_NAME_CHARS - 26));
    assert!(html.contains(&name_cut));
    assert!(!html.contains(&"m".repeat(MAX_NOTICE_CHARS)));
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
}

#[test]
fn empty_days_and_an_empty_page() {
    let mut s = server("eu-1", State::Online);
    s.days.clear();
    s.players_24h.clear();
    s.uptime = PageUptime {
        h24: None,
        d7: None,
        d30: None,
        d90: None,
    };
    let html = en(&page(vec![s]));
    assert!(html.contains("online 0, outage 0, maintenance 0, no data 0"));
    assert!(html.contains("24 hours: no data\">"));
    assert!(html.contains("<dd>—</dd>"));
    let html = en(&page(vec![]));
    assert!(html.contains("No servers are listed") && html.ends_with("</html>"));
}

#[test]
fn russian() {
    let mut s = server("eu-1", State::Offline);
    s.state_reason = Some(StateReason::Timeout);
    let html = render(&page(vec![s]), NOW, Lang::Ru);
    assert!(html.contains("<html lang=\"ru\">"));
    assert!(html.contains("<strong>Недоступен</strong> · нет ответа вовремя"));
    assert!(html.contains("продолжается (13 мин)"));
    assert!(html.contains("Серьёзный сбой"));
}

#[test]
fn five_full_servers_fit_in_40_kb() {
    let servers: Vec<_> = (1..=5)
        .map(|i| {
            let mut s = server(&format!("server-{i}"), State::Online);
            s.message = Some("m".repeat(MAX_NOTICE_CHARS));
            s.name = "N".repeat(60);
            s
        })
        .collect();
    for lang in [Lang::En, Lang::Ru] {
        let html = render(&page(servers.clone()), NOW, lang);
        assert!(html.len() < 40 * 1024, "{lang:?}: {} bytes", html.len());
    }
}

#[test]
fn a_bad_quarter_costs_each_day_its_own_bar_and_stays_bounded() {
    // Every day a different outage: no two days share a tooltip, so no run.
    let servers: Vec<_> = (1..=5)
        .map(|i| {
            let mut s = server(&format!("server-{i}"), State::Online);
            for (n, day) in s.days.iter_mut().enumerate() {
                day.offline_s = 60 * (n as u32 + 1);
            }
            s
        })
        .collect();
    let html = en(&page(servers));
    assert_eq!(html.matches("<path class=").count(), 5 * 90);
    assert!(html.len() < 64 * 1024, "{} bytes", html.len());
}
