//! The Prometheus text format the refresher writes: each [`Family`] (name, kind, help) is
//! declared once as a constant beside the code that fills it, and writes its own `# HELP` /
//! `# TYPE` header and its sample lines (`name{labels} value`).
//!
//! Written by hand rather than with a metrics crate (see [`crate::report::metrics`]); one
//! type for every family keeps the record of outcomes and the nudge sources' view
//! ([`crate::report::sources`]) in the same shape.

use std::fmt::{Display, Write as _};

/// A family's kind, as `# TYPE` names it.
#[derive(Debug, Clone, Copy)]
enum Kind {
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

/// One metric family.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    name: &'static str,
    kind: Kind,
    help: &'static str,
}

impl Family {
    pub const fn counter(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind: Kind::Counter,
            help,
        }
    }

    pub const fn gauge(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind: Kind::Gauge,
            help,
        }
    }

    pub const fn histogram(name: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind: Kind::Histogram,
            help,
        }
    }

    /// `# HELP name help` and `# TYPE name kind`.
    pub fn header(&self, out: &mut String) {
        let (name, kind) = (self.name, self.kind.as_str());
        let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} {kind}", self.help);
    }

    /// One sample of the family (`labels` already written as `key="value",…`, or empty).
    pub fn sample(&self, out: &mut String, labels: &str, value: impl Display) {
        self.sample_of(out, "", labels, value);
    }

    /// One sample of a histogram's series (`suffix`: `_bucket`, `_sum`, `_count`).
    pub fn sample_of(&self, out: &mut String, suffix: &str, labels: &str, value: impl Display) {
        let name = self.name;
        let _ = if labels.is_empty() {
            writeln!(out, "{name}{suffix} {value}")
        } else {
            writeln!(out, "{name}{suffix}{{{labels}}} {value}")
        };
    }

    /// The header and one unlabelled sample.
    pub fn single(&self, out: &mut String, value: impl Display) {
        self.header(out);
        self.sample(out, "", value);
    }
}
