"""A local aiohttp origin server, so demos, tests and benchmarks never need the internet."""
