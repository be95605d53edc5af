-- DMT on MariaDB (10.5 or newer) or MySQL (8.0 or newer): one database and one user per service.
--
-- Each service's user may create and change the tables of its own database (the service's
-- migrations run as that user when it starts) and read and write them, and nothing else: no
-- other database, no user management, no server-wide privilege. Databases are utf8mb4, so the
-- Chinese and Spanish texts of the records are stored as written.
--
-- First replace the three passwords (every CHANGE_ME_... below) and, where the services run on
-- known hosts, the host part '%' of the users; then, as root or another user that may create
-- databases and users:
--
--   mysql -h db-host -u root -p < deploy/db/mariadb/init.sql
--
-- README.md beside this file shows a one-line way to put generated passwords in and other
-- names than dmt_auth, dmt_masterdata and dmt_records. Running it again changes nothing but
-- the passwords.
--
-- In GRANT, '_' in a database name matches any character: the names are written `dmt\_auth`
-- there so that each user gets its own database and not look-alikes.

-- ---------------------------------------------------------------- auth
CREATE DATABASE IF NOT EXISTS dmt_auth CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'dmt_auth'@'%' IDENTIFIED BY 'CHANGE_ME_AUTH_PASSWORD';
ALTER USER 'dmt_auth'@'%' IDENTIFIED BY 'CHANGE_ME_AUTH_PASSWORD';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES
    ON `dmt\_auth`.* TO 'dmt_auth'@'%';

-- ---------------------------------------------------------------- masterdata
CREATE DATABASE IF NOT EXISTS dmt_masterdata CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'dmt_masterdata'@'%' IDENTIFIED BY 'CHANGE_ME_MASTERDATA_PASSWORD';
ALTER USER 'dmt_masterdata'@'%' IDENTIFIED BY 'CHANGE_ME_MASTERDATA_PASSWORD';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES
    ON `dmt\_masterdata`.* TO 'dmt_masterdata'@'%';

-- ---------------------------------------------------------------- records
CREATE DATABASE IF NOT EXISTS dmt_records CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'dmt_records'@'%' IDENTIFIED BY 'CHANGE_ME_RECORDS_PASSWORD';
ALTER USER 'dmt_records'@'%' IDENTIFIED BY 'CHANGE_ME_RECORDS_PASSWORD';
-- TRIGGER: the database keeps the count of records per status itself (migration 0004). With
-- binary logging on, the server also needs log_bin_trust_function_creators=1 for a user
-- without SUPER to create triggers (README.md).
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES, TRIGGER
    ON `dmt\_records`.* TO 'dmt_records'@'%';
