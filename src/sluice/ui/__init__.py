"""The web dashboard at /ui: static pages (plain JavaScript, no build step) over a small
JSON and server-sent-events API, signed in with a namespace key. It reads through the engine
and the store as the dialects do, and sees only the signed-in namespace."""
