use super::*;

#[test]
fn captures_output_and_exit_status() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
    let mut child = Child::spawn(cmd);
    let status = child.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(3));
    let out = child.output();
    assert!(out.contains("out\n") && out.contains("err\n"), "{out}");
    assert_eq!(describe_status(status), "exit status 3");
}

#[test]
fn drop_stops_the_child_by_its_own_pid() {
    let mut cmd = Command::new("sleep");
    cmd.arg("30");
    let child = Launch::new("sleeper")
        .own_group()
        .drop_grace(Duration::from_secs(2))
        .output(Output::Null)
        .spawn(&mut cmd)
        .unwrap();
    let pid = child.pid();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    drop(child);
    // Reaped by the guard: the pid is gone (or, rarely, already reused by another
    // process, which would not be a zombie `sleep`).
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(!stat.contains("(sleep)"), "{stat}");
}

#[test]
fn signals_and_waits() {
    let mut cmd = Command::new("sleep");
    cmd.arg("30");
    let mut child = Child::spawn(cmd);
    assert_eq!(child.wait_timeout(Duration::from_millis(50)), None);
    child.signal(Signal::Term).unwrap();
    let status = child.wait(Duration::from_secs(10));
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(describe_status(status), "killed by signal 15");
}

#[test]
fn describes_commands_as_typed() {
    let mut cmd = Command::new("/usr/bin/cargo");
    cmd.args(["test", "--", "a b", "it's"]);
    assert_eq!(describe(&cmd), r"cargo test -- 'a b' 'it'\''s'");
}
