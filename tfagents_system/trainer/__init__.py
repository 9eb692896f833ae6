"""The trainer program's parts (sac_train.py wires them): its own replay, its checkpoints, and its
records of the run (summaries, status.json, where each iteration's time went)."""
