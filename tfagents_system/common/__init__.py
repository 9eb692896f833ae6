"""What every program of a run starts from: the experiment dir's layout, the params file and JSON
config, the curriculum, and the flags and agent each program sets up."""
