"""Scripts that print Sluice's speed figures (see bench/README.md); not part of the package."""
