-- Calls of a function one process runs at once (OpenWhisk's limits.concurrency): admission
-- counts a shared process's memory once for that many running calls.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS concurrency INTEGER NOT NULL DEFAULT 1;
