"""The producer side: validates batches, turns them into RQ jobs, reads the records back."""
