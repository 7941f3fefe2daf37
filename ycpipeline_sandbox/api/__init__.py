"""The sandbox's API resources, one module each; `routes(box)` in each lists its paths."""
