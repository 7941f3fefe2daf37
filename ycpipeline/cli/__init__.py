"""The `ycpipeline` command line."""
