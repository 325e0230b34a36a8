"""synthgen.run.preview: how `synthgen render` prints the prompts one document gets."""

from __future__ import annotations

from synthgen.run.preview import prompt_lines


def test_prompt_lines_print_each_entry_with_its_messages_schema_and_assumed_answer():
    entry = {"task": "retrieval", "variant": 0, "stage": "configure", "template": "retrieval/configure", "seed": 7,
             "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Passage:\nText"}],
             "schema": {"type": "object"}, "assumed": {"Character": "a baker"}}
    assert prompt_lines([entry, {**entry, "variant": 1, "messages": []}]) == [
        "===== retrieval / variant 0 / stage configure (retrieval/configure.j2, seed 7)",
        "--- system\nBe brief.", "--- user\nPassage:\nText",
        '--- output schema\n{"type":"object"}', '--- (preview assumes the answer {"Character":"a baker"})\n',
        "===== retrieval / variant 1 / stage configure (retrieval/configure.j2, seed 7)",
        '--- output schema\n{"type":"object"}', '--- (preview assumes the answer {"Character":"a baker"})\n']
