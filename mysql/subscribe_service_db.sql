-- The subscribe service's server: its database and its least-privilege users.
-- Run once by an administrator (the native stack, or the MySQL image's first start) after setting
-- @subscribe_service_password and @subscribe_migrator_password. Safe to run again.
CREATE DATABASE IF NOT EXISTS subscribe_service_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

-- CREATE/ALTER USER only take a literal password, so the statements are prepared.
CREATE USER IF NOT EXISTS 'subscribe_service'@'%';
SET @sql = CONCAT('ALTER USER ''subscribe_service''@''%'' IDENTIFIED BY ', QUOTE(@subscribe_service_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;
CREATE USER IF NOT EXISTS 'subscribe_migrator'@'%';
SET @sql = CONCAT('ALTER USER ''subscribe_migrator''@''%'' IDENTIFIED BY ', QUOTE(@subscribe_migrator_password));
PREPARE stmt FROM @sql; EXECUTE stmt; DEALLOCATE PREPARE stmt;

-- The API and the consumer read and write rows of their own tables, nothing else.
GRANT SELECT, INSERT, UPDATE, DELETE ON subscribe_service_db.* TO 'subscribe_service'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES
    ON subscribe_service_db.* TO 'subscribe_migrator'@'%';
