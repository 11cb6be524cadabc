"""The maths of a run's figures: its summary, the capacity it had, its host load, a sweep's fit."""
