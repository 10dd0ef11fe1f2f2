-- Each call's span in its trace (W3C traceparent) and the span id of its parent, the caller's.
ALTER TABLE calls ADD COLUMN IF NOT EXISTS traceparent TEXT;
ALTER TABLE calls ADD COLUMN IF NOT EXISTS trace_parent TEXT;
