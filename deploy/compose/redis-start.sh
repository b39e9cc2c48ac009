#!/bin/sh
# Starts Redis for deploy/compose.yaml with the two ACL users of docs/deploy.md "Least privilege" and
# the default user switched off. The passwords come from the environment (READER_REDIS_PASSWORD,
# REFRESHER_REDIS_PASSWORD) into an ACL file only Redis can read, so they never appear on a
# command line. Extra arguments go to redis-server (the tests add --port and --dir).
#
# The two `user` lines are docs/deploy.md's `ACL SETUSER` lines with the passwords filled in; the
# tests (tests/tests/deploy_compose.rs) check that they stay the same and that they work.
set -eu
: "${READER_REDIS_PASSWORD:?set READER_REDIS_PASSWORD}"
: "${REFRESHER_REDIS_PASSWORD:?set REFRESHER_REDIS_PASSWORD}"
acl_dir=${REDIS_ACL_DIR:-/tmp}
umask 077
cat > "$acl_dir/users.acl" <<ACL
user default off
user status-reader reset on >$READER_REDIS_PASSWORD -@all +get +ttl %R~server:status %R~server:status:last_good %R~server:status:history %R~server:status:page %R~server:status:servers %R~server:status:servers:*
user status-refresher reset on >$REFRESHER_REDIS_PASSWORD -@all +get +set +pttl +pexpire +del +evalsha +script|load +multi +exec +subscribe +ping ~server:status ~server:status:last_good ~server:status:history ~server:status:page ~server:status:lock ~server:status:notify ~server:status:notify:outbox ~server:status:servers ~server:status:servers:* %R~config:status_interval &server:status:refresh
ACL
exec redis-server --aclfile "$acl_dir/users.acl" --save "" --appendonly no "$@"
