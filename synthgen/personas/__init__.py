"""Persona libraries (JSONL files, the built-in ones shipped as package data) and the
retrieval of the top personas for a document, as the Qwen3 Embedding report's stage 1 does.

May import: config (and errors). Persona expansion writes with the generator, so it lives
in `synthgen/run/persona_expansion.py`.
"""
