"""What the agent runs on, passed to every node through LangGraph's runtime context.

:class:`AgentContext` is the graph's ``context_schema``: nodes read it as ``runtime.context``
and never hold state of their own. The model client and the CMMS are typed by the protocols
the nodes need of them, so a test or another backend can stand in with no ``Any`` in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from maintgraph.agent.guards import Guards, NoGuards
from maintgraph.agent.phrasing import Survival
from maintgraph.graph.linking import EntityLinker
from maintgraph.retrieval.registry import Retrievers
from maintgraph.tools.cmms import WorkOrderDraft

Message = dict[str, str]


class ModelClient(Protocol):
    """The served model, as the agent calls it (:class:`maintgraph.llm.client.LLMClient`)."""

    def stream(self, messages: list[Message], model: str | None = None, max_tokens: int = 256,
               temperature: float = 0.0, usage: list[Any] | None = None,
               **options: Any) -> Iterator[str]: ...  # fmt: skip

    def call_tool(self, messages: list[Message], tools: list[Any], tool: str | None = None,
                  model: str | None = None, max_tokens: int = 256) -> Any: ...  # fmt: skip

    def structured(self, messages: list[Message], schema: type[Any], model: str | None = None,
                   max_tokens: int = 256, repairs: int = 2) -> Any: ...  # fmt: skip


class WorkOrderDesk(Protocol):
    """The CMMS, as the agent drafts and submits work orders through it
    (:class:`maintgraph.tools.cmms_tools.CMMSTools`)."""

    def draft_work_order(self, draft: WorkOrderDraft) -> dict[str, Any]: ...

    def submit_work_order(self, draft: WorkOrderDraft, approval_token: str) -> dict[str, Any]: ...


@dataclass
class AgentContext:
    """What the agent runs on; a part left as None is reported as not checked where needed."""

    linker: EntityLinker
    retrievers: Retrievers
    drive_train: Callable[[str], list[dict[str, Any]]] = lambda tag: []
    cmms: WorkOrderDesk | None = None
    llm: ModelClient | None = None
    model: str | None = None  # None: the client's default (the promoted adapter), looked up on each call
    guards: Guards = field(default_factory=NoGuards)
    budget: int = 10
    model_routing: bool = True
    global_route: bool = True  # plant-wide questions also read the community reports (GraphRAG)
    prompt_chars: int = 4800  # evidence text that fits the model's context (synthesis.prompt_chars)
    answer_tokens: int = 300  # most tokens the model writes for one answer (settings.llm_answer_tokens)
    model_budget_s: float = 5.0  # seconds the model may take to phrase the answer (settings.agent_model_budget_s)
    # Decode rates (tokens/s) measured when each adapter was evaluated: the budget's first guess for
    # a model the session has not yet timed (on CPU an adapter decodes far slower than the base).
    decode_priors: dict[str, float] = field(default_factory=dict)
    survival: Survival = field(default_factory=Survival)  # how the model's recent rewrites fared (synthesis)
    versions: dict[str, Any] = field(default_factory=dict)  # model and adapter versions, for traces
    versions_of: Callable[[], dict[str, Any]] | None = None  # for model None: the default's versions now

    @property
    def current_versions(self) -> dict[str, Any]:
        return self.versions_of() if self.versions_of else self.versions

    @property
    def skipped_retrievers(self) -> tuple[str, ...]:
        """Retrievers the plan leaves out: the global route, when it is switched off."""
        return () if self.global_route else ("community_reports",)
