"""The lowest layer: the recipe and its tables (`recipe.py` names the module of each),
secret redaction (`redaction.py`) and synthgen's own data files (`package_data.py`).
It imports nothing of synthgen but `synthgen.errors` and its own modules."""
