"""Fn's v1 REST API (apps, routes, calls, logs, /r/ invocation) over the shared engine."""
