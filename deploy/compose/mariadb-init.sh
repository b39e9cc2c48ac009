#!/bin/sh
# First start of the compose MariaDB (/docker-entrypoint-initdb.d): the `constants` table the
# refresher reads (empty unless you load your own) and the refresher's MySQL user with the one
# grant docs/deploy.md "Least privilege" gives it. The password comes from REFRESHER_DB_PASSWORD.
set -eu
: "${REFRESHER_DB_PASSWORD:?set REFRESHER_DB_PASSWORD}"
# MYSQL_PWD rather than -p: keeps the password off the command line.
MYSQL_PWD=$MARIADB_ROOT_PASSWORD mariadb --protocol=socket -uroot "$MARIADB_DATABASE" <<SQL
CREATE TABLE IF NOT EXISTS constants (
    Name VARCHAR(64) NOT NULL PRIMARY KEY,
    Value VARCHAR(255) NULL,
    Description TEXT NULL
) CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS 'status-refresher'@'%' IDENTIFIED BY '$REFRESHER_DB_PASSWORD';
GRANT SELECT ON \`$MARIADB_DATABASE\`.constants TO 'status-refresher'@'%';
SQL
