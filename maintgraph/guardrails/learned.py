"""Learned second opinions for the injection and unsafe-advice checks.

The pattern rules (``injection.py``, ``unsafe.py``) are precise but only know the phrasings
someone thought of. A word and word-pair TF-IDF model with logistic regression, trained on
labelled texts the project ships (``training/*.yaml``, written by three other authors than the
evaluation sets in ``tests/guard_sets/``), catches new phrasings from their vocabulary: "just",
"fine", "saves a minute", "no need" lean unsafe, "never", "must", "verify", "permit" lean safe.
A text is flagged when a rule fires OR the model's probability reaches its threshold.

Measured on the last training set written (50 attacks + 50 benign, 40 unsafe + 40 safe texts,
by an author who saw neither the rules nor the other sets), with the model fitted on the other
two sets only: rules alone caught 37/50 attacks and 19/40 unsafe answers; rules or model caught
48/50 (threshold 0.7) and 36/40 (threshold 0.65), flagging 1/50 benign texts and 1/40 safe
answers. On the evaluation sets in tests/ (never trained on) the model adds 1/125 benign flagged,
0/66 safe flagged, and flags none of the 92 questions of the agent's question set.

Evaluation texts never reach the model: the sets in tests/guard_sets/ (the first ones, the
multilingual and plain-words sets of issue 29 and the held-out ones, each with a data card saying
"never for training") are not read here, and tests/test_guard_generality.py asserts that no
evaluation text near-duplicates a training text (character 3-5-gram cosine < 0.8). The model
knows English only: an injection check sends it only texts that speak of the assistant, its rules
or its answers (``injection.META``), so a question in Spanish or "show me all failure modes with
severity above 7" is not read by it; the multilingual rules (``injection_cues.py``) and the
act-and-object rules (``unsafe_acts.act_kind``) carry the meaning the model cannot.

No pickle is shipped: the model is fitted from the YAML on first use (~0.2 s), deterministically.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from maintgraph.guardrails.injection import normalise

TRAINING = Path(__file__).with_name("training")
INJECTION_THRESHOLD = 0.7
UNSAFE_THRESHOLD = 0.65
TAG = re.compile(r"\b[A-Z]{1,4}-\d+[\w-]*\b")  # P-101, WO-26-00174: names, not evidence of intent
_lock = threading.Lock()


def _prepare(text: str) -> str:
    return normalise(TAG.sub(" TAG ", text))


class TextModel:
    """TF-IDF (words and word pairs) + logistic regression, fitted from (positives, negatives)."""

    def __init__(self, positives: list[str], negatives: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=_prepare)
        features = self.vectorizer.fit_transform(positives + negatives)
        labels = [1] * len(positives) + [0] * len(negatives)
        self.model = LogisticRegression(C=10, class_weight="balanced", max_iter=5000).fit(features, labels)

    def probability(self, texts: list[str]) -> list[float]:
        if not texts:
            return []
        return [float(p) for p in self.model.predict_proba(self.vectorizer.transform(texts))[:, 1]]


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((TRAINING / f"{name}.yaml").read_text(encoding="utf-8"))


@cache
def _injection() -> TextModel:
    data = _load("injection")
    return TextModel([a["text"] for a in data["attacks"]], [b["text"] for b in data["benign"]])


@cache
def _unsafe() -> TextModel:
    data = _load("unsafe")
    return TextModel([a["text"] for a in data["unsafe"]], [b["text"] for b in data["safe"]])


def injection_model() -> TextModel:
    with _lock:  # fitted once per process, even when the first calls come in parallel
        return _injection()


def unsafe_model() -> TextModel:
    with _lock:
        return _unsafe()
