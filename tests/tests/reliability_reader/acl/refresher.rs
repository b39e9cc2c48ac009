//! The refresher's documented ACL user: its writes, its lease and its scripts on its own
//! keys, and nothing outside them.

use super::*;

#[test]
fn acl_refresher_user_writes_only_its_keys() {
    let (redis, keys, user) = acl_case(
        "status-refresher",
        &format!("Wr-{:016x}", fastrand::u64(..)),
    );
    let mut c = user.conn();
    refresher_plain_write_and_lease_acquire(&mut c, &redis, &keys);
    refresher_guarded_write_and_release(&mut c, &redis, &keys);
    refresher_denied_outside_its_keys(&mut c, &user, &keys);
    let [_, _, interval, _, other] = &keys;
    assert_eq!(redis.get_string(other).as_deref(), Some("someone else's"));
    assert_eq!(redis.get_string(interval).as_deref(), Some("600"));
    assert!(!user.acl_log().is_empty());
}

/// What the refresher does before its guarded write, allowed under its ACL user: the plain
/// write, reading the interval override, and acquiring the lease (which stays held, for
/// [`refresher_guarded_write_and_release`]).
fn refresher_plain_write_and_lease_acquire(
    c: &mut Connection,
    redis: &TestRedis,
    keys: &[String; 5],
) {
    let [status, last_good, interval, lock, _] = keys;
    // The plain write (STATUS_LEASE=0): MULTI / SET EX / SET / EXEC.
    let () = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(status)
        .arg("v1")
        .arg("EX")
        .arg(900)
        .ignore()
        .cmd("SET")
        .arg(last_good)
        .arg("v1")
        .ignore()
        .query(c)
        .expect("MULTI/SET/SET/EXEC");
    assert_eq!(redis.get_string(last_good).as_deref(), Some("v1"));
    // The interval override: read.
    let got: Option<String> = c.get(interval).unwrap();
    assert_eq!(got.as_deref(), Some("600"));
    // Lease acquire: SET NX PX, GET, PTTL.
    let (set, holder, pttl): (Option<String>, Option<String>, i64) = redis::pipe()
        .cmd("SET")
        .arg(lock)
        .arg("tok")
        .arg("NX")
        .arg("PX")
        .arg(30_000)
        .cmd("GET")
        .arg(lock)
        .cmd("PTTL")
        .arg(lock)
        .query(c)
        .expect("lease acquire");
    assert_eq!(
        (set.as_deref(), holder.as_deref()),
        (Some("OK"), Some("tok"))
    );
    assert!(pttl > 0, "{pttl}");
}

/// The guarded write (with the history) and the lease release, both as the refresher's
/// scripts, allowed under its ACL user and taking effect.
fn refresher_guarded_write_and_release(c: &mut Connection, redis: &TestRedis, keys: &[String; 5]) {
    let [status, last_good, _, lock, _] = keys;
    // The refresher's own guarded-write script, unknown to the server until now (a unique
    // comment changes its SHA), so this goes EVALSHA -> NOSCRIPT -> SCRIPT LOAD -> EVALSHA.
    let fresh = format!(
        "-- {:016x}\n{}",
        fastrand::u64(..),
        status_refresher::write::document::GUARDED_WRITE
    );
    // With the history: read before, set by the same script.
    let history = status_document::keys::history_key(status);
    let got: Option<String> = c.get(&history).unwrap();
    assert_eq!(got, None);
    let written: i64 = redis::Script::new(&fresh)
        .key(status)
        .key(last_good)
        .key(lock)
        .key(&history)
        .arg("tok")
        .arg("v2")
        .arg(900)
        .arg(30_000)
        .arg("0")
        .arg("h2")
        .invoke(c)
        .expect("guarded write under the ACL");
    assert_eq!(written, 1);
    assert_eq!(redis.get_string(status).as_deref(), Some("v2"));
    assert_eq!(redis.get_string(last_good).as_deref(), Some("v2"));
    assert_eq!(redis.get_string(&history).as_deref(), Some("h2"));
    // Lease release (the compare-and-delete script's DEL).
    let released: i64 = redis::Script::new(&format!(
        "-- {:016x}\nif redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        fastrand::u64(..)
    ))
    .key(lock)
    .arg("tok")
    .invoke(c)
    .expect("lease release under the ACL");
    assert_eq!(released, 1);
}

/// The refresher's user is refused outside its keys, directly or from a script, and every
/// destructive or admin command (dry-run only).
fn refresher_denied_outside_its_keys(c: &mut Connection, user: &AclUser, keys: &[String; 5]) {
    let [status, _, interval, _, other] = keys;
    // Outside its keys, directly...
    for (args, what) in [
        (vec!["SET", interval, "10"], "SET interval key"),
        (vec!["DEL", interval], "DEL interval key"),
        (vec!["GET", other], "GET another key"),
        (vec!["SET", other, "x"], "SET another key"),
        (vec!["DEL", other], "DEL another key"),
        (vec!["GET", "server:status"], "GET the production key"),
        (vec!["KEYS", "*"], "KEYS"),
        (vec!["EVAL", "return 1", "0"], "EVAL"),
        (vec!["CONFIG", "GET", "maxmemory"], "CONFIG GET"),
        (vec!["SELECT", "1"], "SELECT"),
        (vec!["HSET", status, "f", "v"], "HSET"),
    ] {
        assert_denied(c, &cmd(&args), what);
    }
    // ...or from a script: another key declared in KEYS, or reached through ARGV.
    let sneaky_read = redis::Script::new(&format!(
        "-- {:016x}\nreturn redis.call('GET', KEYS[1])",
        fastrand::u64(..)
    ));
    match sneaky_read.key(other).invoke::<Value>(c) {
        Err(e) if is_noperm(&e) => {}
        other => panic!("script read another key: {other:?}"),
    }
    let sneaky_write = redis::Script::new(&format!(
        "-- {:016x}\nredis.call('SET', ARGV[1], 'x') return 1",
        fastrand::u64(..)
    ));
    match sneaky_write.key(status).arg(other).invoke::<Value>(c) {
        // Inside a script Redis words the key denial differently.
        Err(e)
            if is_noperm(&e)
                || e.to_string()
                    .contains("can't access at least one of the keys") => {}
        other => panic!("script wrote an undeclared key: {other:?}"),
    }
    for args in [
        vec!["FLUSHALL"],
        vec!["FLUSHDB"],
        vec!["SCRIPT", "FLUSH"],
        vec!["SCRIPT", "KILL"],
        vec!["CONFIG", "SET", "maxmemory", "1"],
        vec!["SHUTDOWN"],
        vec!["ACL", "SETUSER", "x"],
        vec!["SET", interval, "10"],
    ] {
        assert_dry_run_denied(user, &args);
    }
}
