-- DMT on Oracle Database (19c or newer): one schema (a user) per service.
--
-- NOT YET RUN AGAINST A LIVE ORACLE SERVER: the DDL the services' migrations produce for Oracle
-- has been rendered and checked without one (see DATABASE_SETUP.md); this script has not.
--
-- Each service's user owns its own schema and nothing else: it can sign in, create tables and
-- the sequences behind identity columns there (the service's migrations run as that user
-- when it starts), with a quota on one tablespace. It is granted no ANY privilege and no role,
-- so it cannot read another service's schema. EXECUTE on DBMS_LOCK lets the migrations of
-- replicas that start together take turns (without it they run unlocked, with a warning).
--
-- Run it in SQL*Plus or SQLcl, connected to the pluggable database as SYS (GRANT on
-- SYS.DBMS_LOCK needs SYS or a user SYS granted it to WITH GRANT OPTION):
--
--   sql sys@//db-host:1521/FREEPDB1 as sysdba @deploy/db/oracle/init.sql
--
-- It asks for the three passwords (without quotes, ' or ", in them). Running it again changes
-- nothing but the passwords.
-- Other user names than dmt_auth, dmt_masterdata and dmt_records: see README.md beside this file.

WHENEVER SQLERROR EXIT SQL.SQLCODE
SET VERIFY OFF

-- The tablespace the services' tables go to.
DEFINE dmt_tablespace = USERS

ACCEPT auth_password CHAR PROMPT 'Password for dmt_auth: ' HIDE
ACCEPT masterdata_password CHAR PROMPT 'Password for dmt_masterdata: ' HIDE
ACCEPT records_password CHAR PROMPT 'Password for dmt_records: ' HIDE

DECLARE
    PROCEDURE ensure_service_user(user_name IN VARCHAR2, password IN VARCHAR2) IS
        found PLS_INTEGER;
    BEGIN
        IF password IS NULL OR INSTR(password, '"') > 0 THEN
            RAISE_APPLICATION_ERROR(-20001, 'give ' || user_name || ' a password, without quotes in it');
        END IF;
        SELECT COUNT(*) INTO found FROM dba_users WHERE username = UPPER(user_name);
        IF found = 0 THEN
            EXECUTE IMMEDIATE 'CREATE USER ' || user_name || ' IDENTIFIED BY "' || password || '"'
                || ' DEFAULT TABLESPACE &dmt_tablespace QUOTA UNLIMITED ON &dmt_tablespace';
        ELSE
            EXECUTE IMMEDIATE 'ALTER USER ' || user_name || ' IDENTIFIED BY "' || password || '"'
                || ' DEFAULT TABLESPACE &dmt_tablespace QUOTA UNLIMITED ON &dmt_tablespace';
        END IF;
        -- CREATE TRIGGER: the records service's database keeps its counts per status (migration 0004).
        EXECUTE IMMEDIATE 'GRANT CREATE SESSION, CREATE TABLE, CREATE SEQUENCE, CREATE TRIGGER TO ' || user_name;
        EXECUTE IMMEDIATE 'GRANT EXECUTE ON SYS.DBMS_LOCK TO ' || user_name;
    END;
BEGIN
    ensure_service_user('dmt_auth', '&auth_password');
    ensure_service_user('dmt_masterdata', '&masterdata_password');
    ensure_service_user('dmt_records', '&records_password');
END;
/

UNDEFINE auth_password masterdata_password records_password
