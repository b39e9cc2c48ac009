//! The two-backend rows: the reader and the control component on Spin's key-value API beside the
//! outbound ones, with the ratios and targets that compare them (same run, c=50).

use super::{Outcome, Row, fmt_ms, ratio, row, share, verdict};
use crate::targets::Kind;

/// Ratios for a key-value row against the other rows at the same concurrency.
pub(super) fn ratios(o: &[Outcome], kind: Kind, r: &Row) -> Vec<String> {
    match kind {
        Kind::ReaderKv => [
            ratio(o, r, Kind::ControlKv)
                .map(|(x, _)| format!("{:.0} % of control (key-value)", 100.0 * x)),
            ratio(o, r, Kind::Reader)
                .map(|(x, p99)| format!("{x:.2}× reader (outbound) rps, p99 {p99:.2}× of its")),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Kind::ControlKv => ratio(o, r, Kind::Control)
            .map(|(x, _)| format!("{x:.2}× control (outbound)"))
            .into_iter()
            .collect(),
        Kind::ReaderBefore => ratio(o, r, Kind::Reader)
            .map(|(x, p99)| format!("{x:.2}× today's reader (outbound) rps, p99 {p99:.2}× of its"))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The two-backend targets. They are held out for a real Spin CLI; these are the reader-host
/// numbers of the same comparisons.
pub(super) fn targets(o: &[Outcome]) -> Vec<String> {
    let c = 50;
    let mut lines = Vec::new();
    match (row(o, Kind::ReaderKv, c), row(o, Kind::ControlKv, c)) {
        (Some(r), Some(control)) => {
            let pct = 100.0 * r.load.rps / control.load.rps;
            lines.push(format!(
                "- reader (key-value) ≥ 85 % of the key-value control at c=50, 0 errors: {pct:.0} %, {} errors — {}",
                r.load.errors,
                verdict(pct >= 85.0 && r.load.errors == 0)
            ));
        }
        _ => lines.push(
            "- reader (key-value) vs control (key-value): not measured (see above)".to_owned(),
        ),
    }
    lines.extend(share(
        o,
        Kind::Reader,
        Kind::Control,
        "reader (outbound) ≥ 90 % of the outbound control",
        90.0,
    ));
    if let (Some(kv), Some(outbound)) = (row(o, Kind::ReaderKv, c), row(o, Kind::Reader, c)) {
        lines.push(format!(
            "- reader (key-value) p99 at c=50 no worse than the outbound reader's: {} ms vs {} ms — {}",
            fmt_ms(kv.load.p99_ms),
            fmt_ms(outbound.load.p99_ms),
            verdict(kv.load.p99_ms <= outbound.load.p99_ms)
        ));
    }
    if let Some(before) = row(o, Kind::ReaderBefore, c) {
        for kind in [Kind::Reader, Kind::ReaderKv] {
            if let Some(now) = row(o, kind, c) {
                lines.push(format!(
                    "- {} p99 at c=50 no worse than the --reader-before reader's: {} ms vs {} ms — {}",
                    kind.label(),
                    fmt_ms(now.load.p99_ms),
                    fmt_ms(before.load.p99_ms),
                    verdict(now.load.p99_ms <= before.load.p99_ms)
                ));
            }
        }
    }
    lines
}
