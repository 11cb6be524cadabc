"""The RQ workers: jobs, strategies, guarded fetching, recording, reconciling, the supervisor."""
