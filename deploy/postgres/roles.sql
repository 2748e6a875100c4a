-- Run once by supabase/postgres when its data directory is created (docker-compose.example.yml): GoTrue logs in
-- as supabase_auth_admin, which the image creates without a password. PGPASSWORD is the db service's.
\set pgpass `echo "$PGPASSWORD"`

ALTER USER supabase_auth_admin WITH PASSWORD :'pgpass';
