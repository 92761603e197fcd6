"""The databases' lifecycle: the embedded engines themselves and the roles in them.

The processes beside them (the fork server, Dagster's code server and daemon, the docs
server) are `pipelines.runtime`; `pipelines.stack` (`shopmarts up | down | status`) starts
and stops both.
"""
