"""What the producer and the worker agree on: states, Redis keys, records, settings.

This package imports neither side, so web, producer and worker can be deployed apart.
"""
