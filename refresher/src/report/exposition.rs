//! The two shapes of the Prometheus text format the refresher writes: a family's header
//! (`# HELP`, `# TYPE`) and a sample line (`name{labels} value`).
//!
//! Written by hand rather than with a metrics crate (see [`crate::report::metrics`]); these
//! two functions keep every family's lines the same shape, so the record of outcomes and
//! the nudge sources' view ([`crate::report::sources`]) cannot drift apart in format.

use std::fmt::{Display, Write as _};

/// A family's kind, as `# TYPE` names it.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// `# HELP name help` and `# TYPE name kind`.
pub fn family(out: &mut String, name: &str, kind: Kind, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {}", kind.as_str());
}

/// One sample: `name value`, or `name{labels} value` when `labels` (already written as
/// `key="value",…`) is not empty.
pub fn sample(out: &mut String, name: &str, labels: &str, value: impl Display) {
    let _ = if labels.is_empty() {
        writeln!(out, "{name} {value}")
    } else {
        writeln!(out, "{name}{{{labels}}} {value}")
    };
}

/// A family of one unlabelled sample.
pub fn single(out: &mut String, name: &str, kind: Kind, help: &str, value: impl Display) {
    family(out, name, kind, help);
    sample(out, name, "", value);
}
