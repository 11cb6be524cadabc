"""The orchestrator: one process (`fanout conductor`) releases comparison runs and drives sweeps."""
