-- The post service's server: its database and its least-privilege users.
-- Run once by an administrator (the native stack, or the MySQL image's first start) after setting
-- @post_service_password, @post_migrator_password, @post_relay_password and @debezium_password.
-- Safe to run again.
-- Nothing of this goes to the binlog: users and grants are this server's own, and a run of DDL
-- with nothing after it trips Debezium (3.5, MariaDB): the restart offset it stores after a
-- statement outside a transaction counts the server's binlog heartbeats as events to skip, so a
-- connector restarted after a quiet while skips that many real events (see docs/reliability.md).
SET SESSION sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS post_service_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CREATE/ALTER USER only take a literal password, so the statements are prepared.
CREATE USER IF NOT EXISTS 'post_service'@'%';
SET @sql = CONCAT('ALTER USER ''post_service''@''%'' IDENTIFIED BY ', QUOTE(@post_service_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;
CREATE USER IF NOT EXISTS 'post_migrator'@'%';
SET @sql = CONCAT('ALTER USER ''post_migrator''@''%'' IDENTIFIED BY ', QUOTE(@post_migrator_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;
CREATE USER IF NOT EXISTS 'post_relay'@'%';
SET @sql = CONCAT('ALTER USER ''post_relay''@''%'' IDENTIFIED BY ', QUOTE(@post_relay_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;
CREATE USER IF NOT EXISTS 'debezium'@'%';
SET @sql = CONCAT('ALTER USER ''debezium''@''%'' IDENTIFIED BY ', QUOTE(@debezium_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;

-- The service reads and writes rows of its own tables, nothing else: no DDL, no other schema.
GRANT SELECT, INSERT, UPDATE, DELETE ON post_service_db.* TO 'post_service'@'%';
-- Alembic migrations change the schema of this database only.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES
    ON post_service_db.* TO 'post_migrator'@'%';
-- The polling relay (relay mode `polling`) claims, marks and purges outbox rows: it may not insert
-- nor change the schema. (Database-wide, because a table grant needs the table to exist, and
-- these users are made before the migrations create it.)
GRANT SELECT, UPDATE, DELETE ON post_service_db.* TO 'post_relay'@'%';
-- The grants Debezium documents for its MySQL and MariaDB connectors: read the binlog
-- (REPLICATION SLAVE, REPLICATION CLIENT), take a consistent snapshot (RELOAD, SHOW DATABASES),
-- and SELECT, narrowed here to the one database it captures. It can write nothing.
GRANT RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%';
GRANT SELECT ON post_service_db.* TO 'debezium'@'%';
