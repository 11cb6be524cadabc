"""The test suite: real Redis, real workers, the local origin and a headless browser."""
