"""Score models at run time: set-based scoring, snapshots, explanations, schedules.

`runner.run_model` scores every record of a model's object in batches (a few statements per
batch, never one per record per factor), writes the score and band through the records service
so rules fire, and stores a snapshot per record per run (`tables.score_snapshots`) from which
`explain` says what each factor contributed and what changed since the previous run.
May import the runtime core (records, expressions, query); nothing in the core imports it.
"""
