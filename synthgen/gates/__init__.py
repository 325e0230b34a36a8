"""Quality gates: each looks at a batch of rows and says, per row, keep or why not (base.py):
exact and near-duplicate dedup, leakage (copied passages), language, the cosine and margin
gates with their calibration on pairs known to be good, the semantic gates and the bitext
translation judge.

May import: config, corpus, personas, generation, engines, tasks.
"""
