"""Does this data train a better retriever? `synthgen eval RUN --benchmark BENCH`.

A synthetic dataset is only as good as the model it trains. Promptagator (Dai et al.
2022) and the Qwen3 Embedding report (arXiv 2506.05176) judge LLM-written queries by
fine-tuning a retriever on them and scoring it on labeled retrieval sets; so does this
package, on a benchmark the user has, with a small student (by default the built-in
all-MiniLM-L6-v2; any sentence-transformers model id or folder). Four models are scored
side by side:

1. `base`: the student as it is, untrained;
2. `inverse_cloze`: the student fine-tuned on a baseline that needs no LLM, made from the
   run's own documents: each document's first sentence as the query, the rest as its
   positive (the inverse cloze task of Lee et al. 2019, ORQA; `baselines.py`);
3. `synthgen`: fine-tuned on the run's final rows (query, positive, hard negatives);
4. `inverse_cloze+synthgen`: fine-tuned on both together. In the design notes'
   measurement the mix beat either alone: the LLM rows carry signal the baseline lacks.

Every trained model gets the same settings (`training.py`: MultipleNegativesRankingLoss,
no-duplicates batches, lr 2e-5 with warmup, fixed seed, the same epochs). Scores are
nDCG@10, MRR@10 and Recall@10, overall and per query language (`metrics.py`, exact
search). If (3) does not beat (2), the LLM and the gates cost more than they bring.

    from synthgen.evaluation import evaluate_run, format_table

    result = evaluate_run("outputs/demo", "bench/dev", epochs=1)
    print("\\n".join(format_table(result)))

Results go to `RUN/eval/results.json` and the manifest's `eval` entry, which `synthgen
report` and the dataset card show. A benchmark built from the run's own corpus measures
in-domain gain; one the run never saw measures transfer. `synthgen calibrate` (calibrate.py)
measures the gates on pairs known to be good.

May import: every lower layer up to run, and shards; not publish or the CLI.
"""

from synthgen.evaluation.benchmark import Benchmark, load_benchmark
from synthgen.evaluation.metrics import mrr_at_k, ndcg_at_k, recall_at_k
from synthgen.evaluation.results import MODELS, EvalResult, ModelResult, format_table, summary_rows
from synthgen.evaluation.runner import DEFAULT_STUDENT, evaluate_run, score_model

__all__ = ["Benchmark", "DEFAULT_STUDENT", "EvalResult", "MODELS", "ModelResult", "evaluate_run", "format_table",
           "load_benchmark", "mrr_at_k", "ndcg_at_k", "recall_at_k", "score_model", "summary_rows"]
