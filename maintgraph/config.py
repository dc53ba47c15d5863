"""Settings: one pydantic-settings object for the whole product.

Values come from, highest priority first: keyword arguments, environment variables
``MAINTGRAPH_*``, the TOML file named by ``MAINTGRAPH_CONFIG_FILE`` (if set), then the defaults
below. No file is ever picked up from the working directory: a ``maintgraph.toml`` there (in a
checkout someone else wrote, say) could name the ``vllm_python`` that ``up`` runs. The defaults run
everything embedded under one data directory; setting a DSN/URI switches that part to an
external service.

Secrets (passwords inside DSNs/URIs, API keys) are ``SecretStr``: they never appear in
``repr``, logs or ``maintgraph config``; :func:`redact_url` is how they are shown.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from maintgraph.errors import ConfigError, MaintgraphError
from maintgraph.urls import NEO4J_SCHEMES, check_graph_uri, check_http_url, check_pg_dsn, redact_url

ENV_PREFIX = "MAINTGRAPH_"
CONFIG_FILE_ENV = "MAINTGRAPH_CONFIG_FILE"
DEFAULT_CONFIG_FILE = "maintgraph.toml"  # the name the examples use; never looked for implicitly

log = logging.getLogger(__name__)

GraphEngine = Literal["falkordb", "neo4j"]
GuardAction = Literal["block", "fix", "flag"]
PrivacyClass = Literal["public", "internal", "restricted", "personal"]


class Settings(BaseSettings):
    """All of maintgraph's configuration. Field ``x`` is env var ``MAINTGRAPH_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(
        Path(".maintgraph"),
        description="Where the embedded services keep their data, sockets, logs and pid files.",
    )

    # -- documents, vectors, CMMS tables and agent state ------------------------------------
    pg_dsn: SecretStr | None = Field(None, description="External Postgres with pgvector; unset = the embedded one.")
    pg_database: str = Field("maintgraph", description="Database name in the embedded Postgres.")
    pg_port: int = Field(
        5432,
        ge=1,
        le=65535,
        description="Embedded Postgres port number: names its Unix socket (.s.PGSQL.<port>); no TCP listener.",
    )

    # -- knowledge graph ---------------------------------------------------------------------
    graph_uri: SecretStr | None = Field(
        None,
        description="neo4j://, neo4j+s://, bolt:// for Neo4j; falkor:// or redis:// for an external "
        "FalkorDB; unset = the embedded FalkorDB.",
    )
    graph_user: str | None = Field(None, description="Neo4j/FalkorDB user name.")
    graph_password: SecretStr | None = Field(None, description="Neo4j/FalkorDB password.")
    graph_database: str | None = Field(None, description="Neo4j database name (default: the server's).")
    graph_name: str = Field("maintgraph", description="FalkorDB graph key holding the plant graph.")

    # -- model server ----------------------------------------------------------------------
    llm_base_url: str | None = Field(
        None, description="Any OpenAI-compatible server (…/v1); unset = the embedded vLLM."
    )
    llm_api_key: SecretStr | None = Field(None, description="API key for the model server.")
    llm_model: str = Field(
        "smollm2-135m-instruct",
        description="Registered base model the embedded vLLM serves (`maintgraph models list`).",
    )
    llm_adapter: str | None = Field(
        None,
        # The base model by default: on CPU, vLLM decodes through a LoRA adapter at a third of
        # the base model's speed (measured in the fine-tuning issue); `adapters promote` switches.
        description="LoRA adapter answers go through unless one was promoted (`adapters promote`); "
        "empty = the base model.",
    )
    llm_phrasing_adapter: str | None = Field(
        None,
        description="Adapter (or base model) that rephrases the composed answer; unset = the one promoted "
        "for phrasing (`adapters promote NAME --task phrasing`, or by the fine-tuning pipeline's measured "
        "evaluation in the registry), else the answering model.",
    )
    llm_port: int = Field(8321, ge=1, le=65535, description="Port of the embedded vLLM server (bound to 127.0.0.1).")
    llm_max_model_len: int = Field(2048, ge=256, description="Context length the embedded vLLM allocates for.")
    llm_answer_tokens: int = Field(
        300,
        ge=16,
        le=2048,
        description="Most tokens the model writes for one answer (it also bounds the evidence sent).",
    )
    llm_start_timeout_s: float = Field(300.0, gt=0, description="How long to wait for the embedded vLLM to be ready.")
    llm_timeout_s: float = Field(120.0, gt=0, description="Timeout of one model call (the whole answer).")
    llm_max_retries: int = Field(
        3, ge=0, le=10, description="Retries of a model call on 429, 5xx and connection errors."
    )
    llm_breaker_failures: int = Field(
        5, ge=1, description="Consecutive failed calls after which the model server is not called for a while."
    )
    llm_breaker_reset_s: float = Field(30.0, gt=0, description="How long a tripped circuit breaker stays open.")
    vllm_python: Path = Field(
        Path(".venv-vllm/bin/python"), description="Python of the virtual environment vLLM is installed in."
    )

    # -- CMMS ----------------------------------------------------------------------------------
    cmms_url: str | None = Field(
        None, description="A Maximo-compatible REST API (…/maximo); unset = the CMMS tables in the product's Postgres."
    )
    cmms_api_key: SecretStr | None = Field(None, description="API key for the CMMS REST API (Maximo `apikey` header).")
    cmms_site: str | None = Field(None, description="Maximo site id new work orders are created in.")

    # -- documents: embeddings, chunking, search ------------------------------------------------
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="all-MiniLM-L6-v2 (packaged, offline), a local sentence-transformers folder, or the "
        "model name the embeddings endpoint serves.",
    )
    embedding_base_url: str | None = Field(
        None, description="OpenAI-compatible embeddings endpoint (…/v1); unset = embed locally."
    )
    embedding_api_key: SecretStr | None = Field(None, description="API key for the embeddings endpoint.")
    embedding_batch_size: int = Field(64, ge=1, le=4096, description="Texts per embedding call.")
    chunk_max_tokens: int = Field(
        200, ge=32, le=8192, description="Token budget of one chunk (the embedding model's tokens)."
    )
    search_privacy_classes: list[Literal["public", "internal", "restricted", "personal"]] = Field(
        ["public", "internal"], description="Privacy classes document search returns unless asked otherwise."
    )

    # -- the agent ----------------------------------------------------------------------------
    agent_tool_budget: int = Field(10, ge=1, le=50, description="Most tool calls the agent makes in one turn.")
    agent_model_budget_s: float = Field(
        5.0,
        ge=0,
        le=600,
        description="Seconds the model may take to rephrase the composed answer: only the sentences it is expected "
        "to finish in time (from its measured tokens/s) are sent; none fit, or 0, and the composed answer is sent "
        "without a model call. 5 s keeps a turn under 10 s (p50) on a 2-core CPU with the 135M model.",
    )
    agent_model_routing: bool = Field(
        True, description="Ask the served model for a tool choice each turn (the deterministic router checks it)."
    )

    # -- guardrails -----------------------------------------------------------------------------
    guard_enabled: bool = Field(
        True, description="Run the guards on every turn (question, retrieved text, answer) and on ingested documents."
    )
    guard_policy_pii: GuardAction = Field(
        "fix", description="Personal data in a question or answer: block, fix (anonymise) or flag."
    )
    guard_policy_injection: GuardAction = Field(
        "block",
        description="A prompt injection in a question: block, fix "
        "(cut it out) or flag. In retrieved text it is always cut out.",
    )
    guard_policy_unsafe: GuardAction = Field(
        "fix", description="Unsafe advice in an answer: block, fix (replace with the safe procedure) or flag."
    )
    guard_policy_grounded: GuardAction = Field(
        "fix", description="Answer sentences not grounded in the evidence: block, fix (drop them) or flag."
    )
    guard_policy_topic: Literal["block", "flag"] = Field(
        "block", description="Off-topic or abusive questions: block (polite refusal) or flag."
    )
    guard_pii_operator: Literal["replace", "mask", "hash", "encrypt"] = Field(
        "replace",
        description="How personal data is anonymised in questions and answers: <TYPE> placeholders, "
        "masked, salted hash, or encrypted (a steward with the key can reveal it).",
    )
    guard_pii_key: SecretStr | None = Field(
        None,
        description="AES key (16, 24 or 32 characters) for the encrypt operator; also salts hashes so one person "
        "hashes alike (without it each hash gets its own random salt).",
    )
    guard_pii_allow_list: list[str] = Field(
        [], description="Names that are never personal data here (the plant's vendors, sites, areas)."
    )
    guard_pii_deny_list: list[str] = Field(
        [], description="Names always treated as personal data (e.g. contractor companies)."
    )
    guard_pii_phone_regions: list[str] = Field(
        ["GB", "US"],
        description="Regions whose national phone formats are recognised (international +NN numbers always are).",
    )
    ingest_pii_operators: dict[PrivacyClass, Literal["replace", "mask", "hash", "encrypt", "keep"]] = Field(
        {"public": "replace", "internal": "replace", "restricted": "replace", "personal": "replace"},
        description="Per privacy class, how personal data in a document is anonymised before it is embedded "
        "(encrypt needs MAINTGRAPH_GUARD_PII_KEY; a data steward with the key can reveal the originals).",
    )
    # Ingestion limits: a file over one is refused, named with the limit (maintgraph.ingest.readers.limits).
    ingest_max_file_bytes: int = Field(
        100 * 1024 * 1024, ge=1, description="Largest document file ingested, in bytes (100 MiB)."
    )
    ingest_max_unzipped_bytes: int = Field(
        200 * 1024 * 1024, ge=1,
        description="Largest total unzipped size of a DOCX or XLSX, in bytes (200 MiB), from its zip directory.",
    )  # fmt: skip
    ingest_max_zip_ratio: int = Field(
        100, ge=1, description="Largest unzipped/zipped ratio of a DOCX or XLSX member of 1 MiB or more (zip bombs)."
    )
    ingest_max_pdf_pages: int = Field(2_000, ge=1, description="Most pages of a PDF ingested.")
    ingest_max_sheet_cells: int = Field(
        1_000_000, ge=1, description="Most cells (rows x columns) of the sheet of an XLSX ingested."
    )

    # -- GraphRAG: communities and their reports (maintgraph graph communities) --------------------
    graphrag_max_cluster_size: int = Field(
        10, ge=2, le=10_000, description="Largest community hierarchical Leiden leaves unsplit (graphrag's default)."
    )
    graphrag_seed: int = Field(42, description="Seed of the Leiden runs: the same graph gives the same communities.")
    graphrag_report_levels: list[int] = Field(
        [0], description="Community levels that get reports (0 = the top; each deeper level multiplies the calls)."
    )
    graphrag_report_max_input_tokens: int = Field(
        1000, ge=100, le=100_000, description="Most tokens of graph facts one report is written from."
    )
    graphrag_report_max_tokens: int = Field(400, ge=32, le=8192, description="Most tokens the model writes per report.")
    graphrag_report_retries: int = Field(
        2, ge=0, le=10, description="Times a report that did not come back as valid JSON is asked for again."
    )
    graphrag_budget_tokens: int = Field(
        300_000, ge=1, description="Most tokens (prompts plus the most the answers may take) one report run may use."
    )
    graphrag_global_reports: int = Field(
        4,
        ge=1,
        le=50,
        description="Community reports a plant-wide question is mapped over (the most relevant, by "
        "search); each costs one short model call, made concurrently.",
    )
    graphrag_followups: int = Field(
        2,
        ge=0,
        le=10,
        description="DRIFT-style local follow-ups of a plant-wide question: assets of the best-rated "
        "report whose failure modes are read from the graph (0: none).",
    )

    # -- the HTTP service (maintgraph serve) -----------------------------------------------------
    api_host: str = Field("127.0.0.1", description="Address `maintgraph serve` binds (0.0.0.0 to serve a network).")
    api_port: int = Field(8080, ge=1, le=65535, description="Port of `maintgraph serve`.")
    api_max_concurrent: int = Field(
        2, ge=1, le=64, description="Agent turns run at once (each holds a CPU core and a model slot while it runs)."
    )
    api_max_waiting: int = Field(
        8, ge=0, le=1000, description="Turns that may queue for a free slot; more get 503 with Retry-After at once."
    )
    api_queue_wait_s: float = Field(
        30.0, gt=0, le=600, description="How long a queued turn waits for a slot before it gets 503 with Retry-After."
    )
    api_rate_per_minute: int = Field(
        60, ge=1, le=100_000, description="Requests per minute per API key unless the key sets its own (429 beyond)."
    )
    api_max_body_bytes: int = Field(
        65_536, ge=1024, le=10_485_760, description="Largest request body accepted (413 beyond)."
    )
    api_cors_origins: list[str] = Field(
        [], description="Browser origins allowed to call the service (CORS); empty: CORS off."
    )
    api_ready_cache_s: float = Field(
        2.0, ge=0, le=60, description="How long /readyz answers from its last check (0: check on every request)."
    )

    # -- the Slack bot (served by `maintgraph serve` at /slack/events, or `maintgraph slack socket`) --
    slack_bot_token: SecretStr | None = Field(None, description="The Slack app's bot token (xoxb-...).")
    slack_signing_secret: SecretStr | None = Field(
        None, description="The Slack app's signing secret: requests to /slack/events are verified with it."
    )
    slack_app_token: SecretStr | None = Field(None, description="App-level token (xapp-...) for Socket Mode only.")
    slack_api_url: str | None = Field(
        None, description="Base URL of the Slack Web API (default https://slack.com/api/; a proxy or a test fake)."
    )
    slack_approvers: list[str] = Field(
        [],
        description="Slack user ids (U...) who may approve or reject a drafted work order; required: the bot "
        "refuses to start without one.",
    )
    slack_team_ids: list[str] = Field(
        [],
        description="Slack workspace (team) ids the bot serves; events, commands and clicks from any other "
        "(Slack Connect externals included) are ignored. Empty: the bot token's own workspace.",
    )

    # -- the Teams bot (Microsoft 365 Agents SDK, served by `maintgraph serve` at /api/messages) ---------
    teams_app_id: str | None = Field(None, description="The bot's Microsoft Entra app (client) id; tokens' audience.")
    teams_app_password: SecretStr | None = Field(None, description="The app's client secret, for replies.")
    teams_tenant_id: str | None = Field(
        None, description="The bot's Entra tenant; required: activities from any other tenant are refused."
    )
    teams_openid_metadata_urls: list[str] = Field(
        ["https://login.botframework.com/v1/.well-known/openidconfiguration"],
        description="OpenID metadata of the issuers whose tokens /api/messages accepts (issuer and signing keys); "
        "add https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration for Entra-issued ones.",
    )
    teams_token_url: str | None = Field(
        None,
        description="OAuth 2.0 token endpoint replies get their token from (client credentials); unset = "
        "https://login.microsoftonline.com/<teams_tenant_id, or botframework.com>/oauth2/v2.0/token.",
    )
    teams_approvers: list[str] = Field(
        [],
        description="Entra object ids of the Teams users who may approve or reject a drafted work order; "
        "required: the bot refuses to start without one.",
    )

    # -- operations ---------------------------------------------------------------------------
    connect_timeout_s: int = Field(5, ge=1, description="Connect timeout for every service, embedded or external.")
    service_start_timeout_s: float = Field(30.0, gt=0, description="How long to wait for a service to become ready.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = Field(
        "auto", description="auto = readable text on a terminal, JSON lines otherwise."
    )

    @model_validator(mode="after")
    def _pii_key_fits_the_operators(self) -> Settings:
        key = self.guard_pii_key.get_secret_value() if self.guard_pii_key else None
        encrypting = self.guard_pii_operator == "encrypt" or "encrypt" in self.ingest_pii_operators.values()
        if encrypting and not key:
            raise ValueError("the encrypt operator is configured but MAINTGRAPH_GUARD_PII_KEY is not set")
        if key and len(key.encode()) not in (16, 24, 32):
            raise ValueError(f"MAINTGRAPH_GUARD_PII_KEY is {len(key.encode())} bytes; it must be 16, 24 or 32")
        return self

    @model_validator(mode="after")
    def _answers_fit_the_context(self) -> Settings:
        # An answer as long as the context leaves no room for the question and its evidence.
        if self.llm_answer_tokens > self.llm_max_model_len // 2:
            raise ValueError(
                f"MAINTGRAPH_LLM_ANSWER_TOKENS ({self.llm_answer_tokens}) must be at most half of "
                f"MAINTGRAPH_LLM_MAX_MODEL_LEN ({self.llm_max_model_len}): the prompt needs the rest"
            )
        return self

    @field_validator("pg_dsn", mode="before")
    @classmethod
    def _valid_pg_dsn(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return check_pg_dsn(raw) if raw else None

    @field_validator("graph_uri", mode="before")
    @classmethod
    def _valid_graph_uri(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return check_graph_uri(raw) if raw else None

    @field_validator("llm_base_url", "embedding_base_url", "cmms_url", mode="before")
    @classmethod
    def _valid_llm_url(cls, value: Any) -> Any:
        return check_http_url(value) if value else None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("llm_adapter", "llm_phrasing_adapter", mode="before")
    @classmethod
    def _empty_adapter(cls, value: Any) -> Any:
        return None if value in ("", "none", "None") else value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = config_file()
        if toml_path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_path))

    # -- derived -------------------------------------------------------------------------------
    @property
    def pg_embedded(self) -> bool:
        return self.pg_dsn is None

    @property
    def graph_embedded(self) -> bool:
        return self.graph_uri is None

    @property
    def graph_engine(self) -> GraphEngine:
        if self.graph_uri is None:
            return "falkordb"
        scheme = urlsplit(self.graph_uri.get_secret_value()).scheme
        return "neo4j" if scheme in NEO4J_SCHEMES else "falkordb"

    @property
    def llm_embedded(self) -> bool:
        return self.llm_base_url is None

    def neo4j_auth(self) -> tuple[str, str] | None:
        """(user, password) for the Neo4j driver, or None when neither is set."""
        password = self.graph_password.get_secret_value() if self.graph_password else None
        return (self.graph_user or "neo4j", password or "") if (self.graph_user or password) else None

    def public_view(self) -> dict[str, Any]:
        """Every setting with secrets redacted: what ``maintgraph config`` prints."""
        view: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                raw = value.get_secret_value()
                value = redact_url(raw) if "://" in raw else "***"
            elif isinstance(value, Path):
                value = str(value)
            view[name] = value
        return view


def _setting_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + str(loc[0]).upper() if loc else "settings"


def config_file() -> Path | None:
    """The settings file: the one ``MAINTGRAPH_CONFIG_FILE`` names, else none (never one from the
    working directory; see the module's doc)."""
    named = os.environ.get(CONFIG_FILE_ENV, "").strip()
    return Path(named).expanduser().absolute() if named else None


def describe_config_file() -> str:
    """Which file the settings came from, in words (``maintgraph config`` and the log show it)."""
    path = config_file()
    if path is None:
        return f"none (environment and defaults only; set {CONFIG_FILE_ENV} to read a file)"
    return str(path)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation failures into one clear :class:`ConfigError`."""
    toml_path = config_file()
    if toml_path is not None and not toml_path.is_file():
        raise ConfigError(f"config file {toml_path} does not exist", setting=CONFIG_FILE_ENV)
    log.info("settings file: %s", describe_config_file())
    if toml_path is None and Path(DEFAULT_CONFIG_FILE).is_file():
        log.warning("ignoring %s in the working directory: settings files are read only from %s",
                    Path(DEFAULT_CONFIG_FILE).absolute(), CONFIG_FILE_ENV)  # fmt: skip
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            source = f"{toml_path} or the environment" if toml_path else "the environment"
            message = f"unknown setting (from {source})"
        raise ConfigError(message, setting=_setting_name(first["loc"])) from None
    except ValueError as exc:  # e.g. a TOML syntax error
        raise ConfigError(f"cannot read {toml_path}: {exc}", setting=CONFIG_FILE_ENV) from None


def read_yaml_mapping(
    path: Path, what: str, *, shape: str = "a mapping", error: type[MaintgraphError] = ConfigError
) -> dict[str, Any]:
    """The mapping a YAML file the user writes holds (a training config, the evaluation thresholds).

    A file that cannot be read, is not YAML or holds something else raises ``error`` naming the
    file, ``what`` it is and the ``shape`` it should have: the one way every such file is checked.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise error(f"{path}: cannot read the {what} ({exc})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: a {what} is {shape}, not {type(data).__name__}")
    return data
