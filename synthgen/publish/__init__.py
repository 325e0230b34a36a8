"""What people read and share: the run report (HTML with plots), the dataset card, the
`inspect` summary, and publishing to the Hugging Face Hub; `templates/` holds the
report's and the card's Jinja templates (prompt templates live in `prompts/`).

May import: every lower layer up to shards and evaluation (the card shows eval results);
not the CLI.
"""
