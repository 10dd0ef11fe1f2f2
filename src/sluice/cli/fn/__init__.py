"""`sluice fn ...`: the part of Fn's CLI that Fn's v1 tutorials use (`alias fn="sluice fn"`)."""
