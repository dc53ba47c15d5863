"""The OpenAI-compatible embeddings client against a local HTTP endpoint that serves the real
MiniLM vectors (the way vLLM or TEI would), and the configuration that picks an embedder."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from maintgraph.config import Settings
from maintgraph.errors import ConfigError, ServiceUnavailable
from maintgraph.search.embeddings import OpenAIEmbedder, SentenceTransformerEmbedder, build_embedder

TEXTS = [
    "P-101 drive-end bearing runs hot after greasing",
    "Mechanical seal leaks at the gland on the lift pump",
    "Motor trips on overload during start-up",
    "Check the coupling alignment with a laser tool",
    "Compressor discharge temperature high",
    "Replace the wear ring when the clearance exceeds 0.5 mm",
    "Valve actuator sticks half open",
]


@pytest.fixture(scope="module")
def local():
    model = build_embedder(Settings())
    assert isinstance(model, SentenceTransformerEmbedder)
    return model


@pytest.fixture
def endpoint(local):
    """An /v1/embeddings server: real vectors, scaled (so the client must normalise) and
    listed in reverse (so the client must order by index). Records each request."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            if any("overheat the server" in text for text in body["input"]):
                return self._reply(503, {"error": {"message": "model is loading"}})
            vectors = local.embed(body["input"]) * 3.0
            data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
            self._reply(200, {"object": "list", "model": body["model"], "data": data[::-1],
                              "usage": {"prompt_tokens": 10, "total_tokens": 10}})  # fmt: skip

        def _reply(self, status, payload):
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1", requests
    server.shutdown()
    server.server_close()


def test_endpoint_vectors_match_the_local_model_in_order_and_normalised(local, endpoint):
    base_url, requests = endpoint
    settings = Settings(embedding_base_url=base_url, embedding_api_key="sk-plant-1", embedding_batch_size=3)
    remote = build_embedder(settings)
    assert isinstance(remote, OpenAIEmbedder) and remote.name == "all-MiniLM-L6-v2"
    vectors = remote.embed(TEXTS)
    assert vectors.shape == (7, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Same vectors as the local model, row for row, although the server lists them reversed.
    np.testing.assert_allclose(np.sum(vectors * local.embed(TEXTS), axis=1), 1.0, atol=1e-4)
    # Seven texts in batches of three, each authorised and sent to /v1/embeddings.
    assert [len(r["input"]) for r in requests] == [3, 3, 1]
    assert {r["path"] for r in requests} == {"/v1/embeddings"} and {r["auth"] for r in requests} == {
        "Bearer sk-plant-1"
    }
    assert remote.dimension == 384 and len(requests) == 3  # known from the answers: no extra probe


def test_endpoint_errors_name_the_endpoint_and_the_status(endpoint):
    base_url, _ = endpoint
    remote = OpenAIEmbedder(base_url, "all-MiniLM-L6-v2", None, timeout_s=5)
    with pytest.raises(ServiceUnavailable, match=r"127\.0\.0\.1.*answered 503.*model is loading"):
        remote.embed(["please overheat the server"])
    closed = OpenAIEmbedder("http://127.0.0.1:9/v1", "all-MiniLM-L6-v2", None, timeout_s=2)
    with pytest.raises(ServiceUnavailable, match=r"127\.0\.0\.1:9.*unreachable"):
        closed.embed(["anything"])


def test_a_model_name_that_is_not_a_local_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="never downloaded"):
        build_embedder(Settings(embedding_model="sentence-transformers/all-mpnet-base-v2"))
    with pytest.raises(ConfigError, match=str(tmp_path)):
        build_embedder(Settings(embedding_model=str(tmp_path)))
