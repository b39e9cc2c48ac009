//! The deploy-manifest checks of `cargo xtask test`: `xtask/checks/deploy_manifests.py`
//! (Kubernetes and SpinKube schemas, Secret references, compose against docs/deploy.md) in a Python
//! virtualenv that xtask keeps under `target/xtask/venv`.
//!
//! Python because the validator that bundles the Kubernetes schemas (`kubernetes-validate`)
//! is a PyPI package; a virtualenv so that nothing is installed into the machine's Python.
//! The venv is rebuilt only when `xtask/checks/requirements.txt` changes (a copy of it beside
//! the venv says what was installed), so the step costs well under a second once set up.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::child::run_step;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Runs the manifest checks; fails the step when any of them fails.
pub fn run(ws: &Workspace, shutdown: &Shutdown) -> Result<()> {
    let python = venv_python(ws, shutdown)?;
    let mut cmd = Command::new(python);
    cmd.arg(ws.root().join("xtask/checks/deploy_manifests.py"))
        .arg(ws.root());
    run_step(&mut cmd, shutdown)
}

/// The venv's interpreter, creating or updating the venv when the requirements changed.
/// Also the home of schemathesis (`crate::contract`): one venv, one requirements file.
pub fn venv_python(ws: &Workspace, shutdown: &Shutdown) -> Result<PathBuf> {
    let requirements = ws.root().join("xtask/checks/requirements.txt");
    let wanted = fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let venv = ws.xtask_dir().join("venv");
    let python = venv.join("bin/python");
    let stamp = venv.join("installed-requirements.txt");
    if python.is_file() && fs::read_to_string(&stamp).is_ok_and(|have| have == wanted) {
        return Ok(python);
    }
    println!(
        "xtask: setting up {} from {}",
        venv.display(),
        requirements.display()
    );
    let mut create = Command::new("python3");
    create.args(["-m", "venv", "--clear"]).arg(&venv);
    run_step(&mut create, shutdown).context(
        "could not create a Python virtualenv: install python3 and python3-venv \
         (`apt-get install -y python3 python3-venv`; .ci/run does)",
    )?;
    pip_install(&python, &requirements, shutdown)?;
    fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(python)
}

fn pip_install(python: &Path, requirements: &Path, shutdown: &Shutdown) -> Result<()> {
    let mut pip = Command::new(python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--requirement",
    ])
    .arg(requirements);
    run_step(&mut pip, shutdown).context("installing xtask/checks/requirements.txt with pip")
}
