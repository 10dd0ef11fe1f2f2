"""Function builds: Go binaries compiled at deploy, Python and Node.js dependency
environments installed once per content hash and shared by every function that asks for the
same ones. A build runs in the functions' sandbox; a failed one changes nothing."""
