"""What the programs share through the Reverb server, and nothing else: the replay/sync protocol.

replay_tables: the server's tables and their signatures. replay_connection: the connection, which
holds every Reverb client a program uses, and the one retry rule, the same for the trainer and the
workers. iteration_sync: the iteration protocol and what both sides share (the workers' reports);
trainer_side and worker_side: its two sides. episode_items: experience as one item per episode.
queue_reader: the trainer's open reader of the experience feed and of the reports.
"""
