//! `--config FILE` / `STATUS_CONFIG_FILE`: settings from a file, for a Windows service
//! (services have no shell to set variables in) or anywhere a file is handier.
//!
//! The format is the systemd `EnvironmentFile` one that `deploy/systemd/refresher.env.example`
//! already uses: one `VARIABLE=value` per line, `#` comment lines, blank lines, an optional
//! pair of quotes around a value, no expansion. It is read as UTF-8 (a leading byte-order
//! mark, as Notepad writes it, and CRLF line ends are fine).
//!
//! Each line becomes the flag that sets the same option (`STATUS_TIMEOUT=2` ->
//! `--status-timeout=2`, looked up with [`flag_for`]), placed before the real command line:
//! so a file setting wins over the environment and a flag given on the command line wins over
//! the file (`args_override_self`). Errors name the file and the line, never a value, since a
//! value may be a password.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;

use super::args::{Args, flag_for};

/// Why a config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {} is not UTF-8 text (save it as UTF-8)", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}:{line}: expected VARIABLE=value", path.display())]
    NotASetting { path: PathBuf, line: usize },
    #[error("{}:{line}: {name} is not a setting of the refresher", path.display())]
    Unknown {
        path: PathBuf,
        line: usize,
        name: String,
    },
    /// Clap refused the settings; its message is left out, as it could quote a value.
    #[error("the settings of {} are refused: {kind}", path.display())]
    Refused {
        path: PathBuf,
        kind: clap::error::ErrorKind,
    },
}

/// `first` (the command line `argv`, already parsed) with the settings of the config file it
/// names, if any, put in front of the command line.
pub fn with_file(first: Args, argv: &[OsString]) -> Result<Args, ConfigFileError> {
    let Some(path) = first.config.clone() else {
        return Ok(first);
    };
    let mut full: Vec<OsString> = argv.iter().take(1).cloned().collect();
    full.extend(flags_from_file(&path)?);
    full.extend(argv.iter().skip(1).cloned());
    Args::try_parse_from(full).map_err(|e| ConfigFileError::Refused {
        path,
        kind: e.kind(),
    })
}

/// The file's settings as command-line flags (`--flag=value`), in file order.
pub fn flags_from_file(path: &Path) -> Result<Vec<OsString>, ConfigFileError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigFileError::NotUtf8 {
        path: path.to_owned(),
    })?;
    flags_from_text(&text).map_err(|e| match e {
        LineError::NotASetting { line } => ConfigFileError::NotASetting {
            path: path.to_owned(),
            line,
        },
        LineError::Unknown { line, name } => ConfigFileError::Unknown {
            path: path.to_owned(),
            line,
            name,
        },
    })
}

#[derive(Debug, PartialEq, Eq)]
enum LineError {
    NotASetting { line: usize },
    Unknown { line: usize, name: String },
}

fn flags_from_text(text: &str) -> Result<Vec<OsString>, LineError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut flags = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(LineError::NotASetting { line: line_no });
        };
        let name = name.trim();
        let flag = flag_for(name);
        // A file naming another file (or itself) would be a loop, not a setting.
        if flag == "?" || name == "STATUS_CONFIG_FILE" {
            return Err(LineError::Unknown {
                line: line_no,
                name: name.chars().take(64).collect(),
            });
        }
        let value = unquote(value.trim());
        flags.push(OsString::from(format!("--{flag}={value}")));
    }
    Ok(flags)
}

/// `"value"` or `'value'` -> `value`; anything else as it is.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_flags_and_comments_bom_crlf_and_quotes_are_handled() {
        let text = "\u{feff}# settings\r\n\r\nREDIS_URL=redis://u:p@h:6379/0\r\n  STATUS_TIMEOUT = \"2\"\r\nSTATUS_METRICS_ADDR=\r\nDB_PASSWORD='a=b#c'\r\n";
        let flags = flags_from_text(text).unwrap();
        assert_eq!(
            flags,
            [
                "--redis-url=redis://u:p@h:6379/0",
                "--status-timeout=2",
                "--status-metrics-addr=",
                "--db-password=a=b#c",
            ]
            .map(OsString::from)
        );
    }

    #[test]
    fn unknown_names_and_lines_without_equals_are_refused_by_line_number() {
        assert_eq!(
            flags_from_text("STATUS_TIMEOUT=1\nSTATUS_TIMOUT=2\n"),
            Err(LineError::Unknown {
                line: 2,
                name: "STATUS_TIMOUT".into()
            })
        );
        assert_eq!(
            flags_from_text("\nREDIS_URL\n"),
            Err(LineError::NotASetting { line: 2 })
        );
        assert_eq!(
            flags_from_text("STATUS_CONFIG_FILE=other.env\n"),
            Err(LineError::Unknown {
                line: 1,
                name: "STATUS_CONFIG_FILE".into()
            })
        );
    }

    #[test]
    fn a_file_setting_loses_to_a_flag_on_the_command_line() {
        let mut argv: Vec<OsString> = vec!["status-refresher".into()];
        argv.extend(flags_from_text("STATUS_TIMEOUT=2\nSTATUS_KEY=from:file\n").unwrap());
        argv.push("--status-timeout=3".into());
        let args = Args::try_parse_from(argv).unwrap();
        assert_eq!(args.status_timeout, "3");
        assert_eq!(args.status_key, "from:file");
    }
}
