"""What every process agrees on: Redis keys, states, records, settings, job names, input verdicts.

This package imports no other of fanout's, so web, conductor and worker deploy apart.
"""
