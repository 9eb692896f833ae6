"""How a launch ends, as its exit code (launch.py). slurm/train.sbatch tells them apart: it does
not requeue a job whose run failed or whose inputs are wrong, since running it again would not
help. The sbatch script names the same numbers; tests/test_exit_codes.py checks they match."""
# The run completed, or was stopped with its checkpoints: its status.json says which.
ENDED = 0
# The run started and could not go on (a crash loop, a stall, a full disk, a failed trainer).
RUN_FAILED = 1
# Nothing started: a setting, the params, the config or the experiment dir was refused.
BAD_INPUTS = 2
