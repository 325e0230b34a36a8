"""From work items to parsed answers: `WorkItem` and `Stage` (work.py), prompt
templates (prompts.py, rendered in Jinja's sandbox), running one stage as one engine call
(stages.py), parsing model output as JSON (parsing.py) and the row contract (rows.py).

May import: config, corpus, personas, engines (the protocols a stage calls).
"""
