"""The stock packages of /whisk.system (utils, samples): ordinary published Node.js actions,
so a caller's call of one runs sandboxed in a process of the caller's namespace like any
shared package's action."""
