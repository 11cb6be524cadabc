"""The `fanout` command: the local stack, the producer CLI and the services' entry points."""
