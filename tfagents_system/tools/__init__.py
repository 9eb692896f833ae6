"""The user's tools around runs: status, learning curves (plot), and robustness maps of saved
policies (robustness, its grid and figures, policy_evaluation; run.py is their entry point)."""
