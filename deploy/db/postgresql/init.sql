-- DMT on PostgreSQL (12 or newer): one database and one login role per service.
--
-- Each service's role owns its own database and nothing else: it can connect to it, create
-- and change the tables there (the service's migrations run as that role when it starts),
-- read and write them. No other role can connect to that database (PUBLIC loses CONNECT),
-- and the service roles may not create databases or roles.
--
-- Run it with psql as a superuser, giving the three passwords as psql variables:
--
--   psql "postgresql://postgres@db-host:5432/postgres" -X -v ON_ERROR_STOP=1 \
--       -v auth_password='...' -v masterdata_password='...' -v records_password='...' \
--       -f deploy/db/postgresql/init.sql
--
-- Running it again changes nothing but the passwords. Other names than dmt_auth,
-- dmt_masterdata and dmt_records: see README.md beside this file.

\set ON_ERROR_STOP on

SELECT :{?auth_password} AND :{?masterdata_password} AND :{?records_password} AS has_passwords \gset
\if :has_passwords
\else
DO $$ BEGIN
    RAISE EXCEPTION 'give the passwords: psql -v auth_password=... -v masterdata_password=... -v records_password=...';
END $$;
\endif

-- ---------------------------------------------------------------- auth
SELECT 'CREATE ROLE dmt_auth LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dmt_auth') \gexec
ALTER ROLE dmt_auth WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'auth_password';
SELECT 'CREATE DATABASE dmt_auth OWNER dmt_auth ENCODING ''UTF8'' TEMPLATE template0'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dmt_auth') \gexec
REVOKE ALL ON DATABASE dmt_auth FROM PUBLIC;

-- ---------------------------------------------------------------- masterdata
SELECT 'CREATE ROLE dmt_masterdata LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dmt_masterdata') \gexec
ALTER ROLE dmt_masterdata WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'masterdata_password';
SELECT 'CREATE DATABASE dmt_masterdata OWNER dmt_masterdata ENCODING ''UTF8'' TEMPLATE template0'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dmt_masterdata') \gexec
REVOKE ALL ON DATABASE dmt_masterdata FROM PUBLIC;

-- ---------------------------------------------------------------- records
SELECT 'CREATE ROLE dmt_records LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dmt_records') \gexec
ALTER ROLE dmt_records WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'records_password';
SELECT 'CREATE DATABASE dmt_records OWNER dmt_records ENCODING ''UTF8'' TEMPLATE template0'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dmt_records') \gexec
REVOKE ALL ON DATABASE dmt_records FROM PUBLIC;

-- ---------------------------------------------------------------- the public schema of each
-- The service's tables go to the public schema of its database: make the service role its
-- owner and let no one else create objects there (before PostgreSQL 15 everyone could).
\connect dmt_auth
ALTER SCHEMA public OWNER TO dmt_auth;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

\connect dmt_masterdata
ALTER SCHEMA public OWNER TO dmt_masterdata;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

\connect dmt_records
ALTER SCHEMA public OWNER TO dmt_records;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
