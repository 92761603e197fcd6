-- Runs once on the first start of the compose Postgres: the warehouse and Dagster's storage.
CREATE DATABASE warehouse;
CREATE DATABASE dagster;
