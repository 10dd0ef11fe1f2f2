"""OpenFaaS's gateway: /function and /async-function over the namespace's actions, with
callbacks and call status, and the /system/functions API."""
