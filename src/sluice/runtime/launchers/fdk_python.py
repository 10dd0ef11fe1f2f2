"""Starts a function written for Fn's Python FDK, as its `fdk` console script does:
`python -S fdk_python.py /path/to/func.py [handler]`. The `fdk` package comes from the
function's own environment (its requirements.txt), found on PYTHONPATH."""

from fdk.scripts.fdk import main  # type: ignore[import-not-found]

if __name__ == "__main__":
    main()
