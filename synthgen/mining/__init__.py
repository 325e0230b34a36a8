"""Hard negatives: positive-aware mining of corpus documents for each row (NV-Retriever's
margin rule), checked against sentence-transformers' own miner.

May import: config, corpus, personas, generation, engines, tasks.
"""
