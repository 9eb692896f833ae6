"""The trainer program's parts; sac_train.py wires them and runs the iterations.

sgd_steps: tf-agents' Learner, compiled before any data and run to a train step. trainer_replay:
the trainer's own copy of the replay, sampled inside the SGD steps. trainer_checkpoints and
checkpoint_trigger: what is saved together, and when. training_progress and iteration_timing: the
record of each iteration (summaries, status.json, where its time went). trainer_stop: how the
program ends.
"""
