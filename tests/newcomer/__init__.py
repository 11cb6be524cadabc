"""The README's quick start as a newcomer follows it, on a fresh clone (`make test-newcomer`)."""
