-- The subscribe service's server: its database and its least-privilege users.
-- Run once by an administrator (the native stack, or the MySQL image's first start) after setting
-- @subscribe_service_password, @subscribe_migrator_password and @read_model_sink_password. Safe to
-- run again.
-- Nothing of this goes to the binlog: users and grants are this server's own, and a run of DDL
-- with nothing after it trips Debezium (3.5, MariaDB): the restart offset it stores after a
-- statement outside a transaction counts the server's binlog heartbeats as events to skip, so a
-- connector restarted after a quiet while skips that many real events (see docs/reliability.md).
SET SESSION sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS subscribe_service_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CREATE/ALTER USER only take a literal password, so the statements are prepared.
CREATE USER IF NOT EXISTS 'subscribe_service'@'%';
SET @sql = CONCAT('ALTER USER ''subscribe_service''@''%'' IDENTIFIED BY ', QUOTE(@subscribe_service_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;
CREATE USER IF NOT EXISTS 'subscribe_migrator'@'%';
SET @sql = CONCAT('ALTER USER ''subscribe_migrator''@''%'' IDENTIFIED BY ', QUOTE(@subscribe_migrator_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;
CREATE USER IF NOT EXISTS 'read_model_sink'@'%';
SET @sql = CONCAT('ALTER USER ''read_model_sink''@''%'' IDENTIFIED BY ', QUOTE(@read_model_sink_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;

-- The API, the consumer and the dispatcher read the whole database (the read model included:
-- the feed is served from it) and write rows of their own tables, one grant each, nothing else.
-- A migration that adds a table adds its grant here (tests/integration/test_least_privilege.py
-- fails until it does). CREATE is in each only because this runs before the migrations: see
-- the sink's grant below.
GRANT SELECT ON subscribe_service_db.* TO 'subscribe_service'@'%';
-- Before the read model, the service could write every table of the database: taken back.
REVOKE INSERT, UPDATE, DELETE ON subscribe_service_db.* FROM 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE
    ON subscribe_service_db.subscriptions TO 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE
    ON subscribe_service_db.processed_events TO 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE
    ON subscribe_service_db.notifications TO 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE
    ON subscribe_service_db.post_states TO 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE
    ON subscribe_service_db.webhook_endpoints TO 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE
    ON subscribe_service_db.webhook_deliveries TO 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES
    ON subscribe_service_db.* TO 'subscribe_migrator'@'%';
-- The read model's JDBC sink (Kafka Connect) writes one table and nothing else. Its migration
-- creates the table; CREATE is in the grant only because MySQL and MariaDB refuse a grant on a
-- table that does not exist yet unless it includes CREATE, and this runs before the migrations.
-- (The sink never creates or alters it: its schema.evolution is none.)
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE
    ON subscribe_service_db.post_replicas TO 'read_model_sink'@'%';
