"""A small Bolt 5.4 server that forwards the official ``neo4j`` driver's queries to FalkorDB.

No Neo4j server can be installed here, so the Neo4j adapter is tested through the real driver
against this stand-in (the technique Neo4j's own driver test kit uses with stub servers). It
speaks enough of Bolt for the driver's ordinary use: the version handshake, HELLO/LOGON,
RUN/PULL/DISCARD in auto-commit and explicit transactions (BEGIN/COMMIT/ROLLBACK, with real
rollback through a shadow copy of the graph), RESET, ROUTE (for ``neo4j://``), TELEMETRY and
GOODBYE. Results carry real Node/Relationship/Path structures; FalkorDB errors come back as
FAILURE messages with Neo4j status codes, so a syntax error raises ``CypherSyntaxError``.
The Bolt ``db`` selects the FalkorDB graph key. Neo4j's uniqueness-constraint DDL is
translated to FalkorDB's. PackStream comes from the driver itself.
"""

from __future__ import annotations

import contextlib
import re
import socket
import socketserver
import struct
import threading
from typing import Any

from falkordb import Edge, FalkorDB, Node, Path
from neo4j._codec.packstream import Structure
from neo4j._codec.packstream.v1 import PackableBuffer, Packer, UnpackableBuffer, Unpacker
from redis.exceptions import ResponseError

from maintgraph.errors import GraphQueryError
from maintgraph.graph.falkordb import create_unique, shadow_copy

MAGIC = b"\x60\x60\xb0\x17"
VERSION = (5, 4)
SERVER_AGENT = "Neo4j/5.26.0"

HELLO, GOODBYE, RESET, RUN, DISCARD, PULL = 0x01, 0x02, 0x0F, 0x10, 0x2F, 0x3F
BEGIN, COMMIT, ROLLBACK, ROUTE, LOGON, LOGOFF, TELEMETRY = 0x11, 0x12, 0x13, 0x66, 0x6A, 0x6B, 0x54
SUCCESS, RECORD, IGNORED, FAILURE = b"\x70", b"\x71", b"\x7e", b"\x7f"

_CONSTRAINT_DDL = re.compile(
    r"CREATE\s+CONSTRAINT\s+\w+\s+IF\s+NOT\s+EXISTS\s+FOR\s+\(\w+:(\w+)\)\s+REQUIRE\s+\w+\.(\w+)\s+IS\s+UNIQUE",
    re.I,
)


class _Rollback(Exception):
    pass


def _neo4j_code(message: str) -> str:
    lowered = message.lower()
    if "invalid input" in lowered or "syntax" in lowered or "unexpected" in lowered:
        return "Neo.ClientError.Statement.SyntaxError"
    if "constraint" in lowered and "violat" in lowered:
        return "Neo.ClientError.Schema.ConstraintValidationFailed"
    if "not defined" in lowered or "unknown function" in lowered or "type mismatch" in lowered:
        return "Neo.ClientError.Statement.SemanticError"
    return "Neo.DatabaseError.Statement.ExecutionFailed"


def _bolt_value(value: Any) -> Any:
    """FalkorDB result values -> PackStream values with Bolt 5 graph structures."""
    if isinstance(value, Node):
        return Structure(b"N", value.id, list(value.labels or []), dict(value.properties), str(value.id))
    if isinstance(value, Edge):
        src, dst = _id(value.src_node), _id(value.dest_node)
        return Structure(
            b"R", value.id, src, dst, value.relation, dict(value.properties), str(value.id), str(src), str(dst)
        )
    if isinstance(value, Path):
        nodes, edges = value.nodes(), value.edges()
        unique_nodes: dict[int, Structure] = {}
        unique_rels: dict[int, Structure] = {}
        indices: list[int] = []
        for node in nodes:
            unique_nodes.setdefault(node.id, _bolt_value(node))
        node_index = {node_id: i for i, node_id in enumerate(unique_nodes)}
        for i, edge in enumerate(edges):
            if edge.id not in unique_rels:
                unique_rels[edge.id] = Structure(b"r", edge.id, edge.relation, dict(edge.properties), str(edge.id))
            rel_number = list(unique_rels).index(edge.id) + 1
            forward = _id(edge.src_node) == nodes[i].id
            indices += [rel_number if forward else -rel_number, node_index[nodes[i + 1].id]]
        return Structure(b"P", list(unique_nodes.values()), list(unique_rels.values()), indices)
    if isinstance(value, list):
        return [_bolt_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _bolt_value(v) for k, v in value.items()}
    return value


def _id(end: Any) -> int:
    return end.id if isinstance(end, Node) else int(end)


class _Connection(socketserver.BaseRequestHandler):
    server: BoltServer

    def setup(self) -> None:
        # Without TCP_NODELAY every small Bolt message waits for the peer's delayed ACK (~40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.outbox = bytearray()
        self.db = FalkorDB(unix_socket_path=self.server.falkordb_socket)
        self.failed = False
        self.tx: Any = None  # (context manager, graph) while an explicit transaction is open
        self.pending: list[list[Any]] = []
        self.fields: list[str] = []
        self.query_type = "r"
        self.bookmarks = 0

    # -- framing ------------------------------------------------------------------------
    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client closed the connection")
            data += chunk
        return data

    def _read_message(self) -> Structure:
        if self.outbox:
            self.request.sendall(self.outbox)
            self.outbox.clear()
        payload = b""
        while True:
            (size,) = struct.unpack(">H", self._recv_exact(2))
            if size == 0:
                if payload:
                    break
                continue  # NOOP keep-alive
            payload += self._recv_exact(size)
        return Unpacker(UnpackableBuffer(payload)).unpack()

    def _send(self, tag: bytes, *fields: Any) -> None:
        buffer = PackableBuffer()
        Packer(buffer).pack(Structure(tag, *fields))
        data = bytes(buffer.data)
        out = b""
        for start in range(0, len(data), 0xFFFF):
            piece = data[start : start + 0xFFFF]
            out += struct.pack(">H", len(piece)) + piece
        self.outbox += out + b"\x00\x00"  # flushed once all queued requests are answered

    # -- protocol -----------------------------------------------------------------------
    def handle(self) -> None:
        if self._recv_exact(4) != MAGIC:
            return
        self._recv_exact(16)  # the driver's version offers; it always offers 5.x
        self.request.sendall(bytes((0, 0, VERSION[1], VERSION[0])))
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                message = self._read_message()
                if message.tag[0] == GOODBYE:
                    return
                self._dispatch(message.tag[0], list(message.fields))

    def _dispatch(self, tag: int, fields: list[Any]) -> None:
        if tag == RESET:
            self._end_tx(commit=False)
            self.failed, self.pending = False, []
            return self._send(SUCCESS, {})
        if self.failed:
            return self._send(IGNORED)
        try:
            self._handle(tag, fields)
        except (ResponseError, GraphQueryError) as exc:
            self.failed = True
            message = str(exc).strip()
            self._send(FAILURE, {"code": _neo4j_code(message), "message": message})

    def _graph_name(self, extra: dict[str, Any]) -> str:
        db = extra.get("db")
        return db if db and db != "neo4j" else self.server.default_graph

    def _handle(self, tag: int, fields: list[Any]) -> None:
        if tag == HELLO:
            self._send(SUCCESS, {"server": SERVER_AGENT, "connection_id": "bolt-falkordb", "hints": {}})
        elif tag in (LOGON, LOGOFF, TELEMETRY):
            self._send(SUCCESS, {})
        elif tag == ROUTE:
            address = f"127.0.0.1:{self.server.server_address[1]}"
            servers = [{"addresses": [address], "role": role} for role in ("ROUTE", "READ", "WRITE")]
            db = (fields[2] or {}).get("db") if len(fields) > 2 else None
            self._send(SUCCESS, {"rt": {"ttl": 300, "db": db or "neo4j", "servers": servers}})
        elif tag == BEGIN:
            extra = fields[0] if fields else {}
            name = self._graph_name(extra)
            if extra.get("mode") == "r":  # read-only: no copy needed, read the live graph
                self.tx = (None, self.db.select_graph(name))
            else:
                manager = shadow_copy(self.db, name)
                self.tx = (manager, manager.__enter__())
            self._send(SUCCESS, {})
        elif tag == COMMIT:
            self._end_tx(commit=True)
            self.bookmarks += 1
            self._send(SUCCESS, {"bookmark": f"mg:{self.bookmarks}"})
        elif tag == ROLLBACK:
            self._end_tx(commit=False)
            self._send(SUCCESS, {})
        elif tag == RUN:
            self._run(fields[0], fields[1] or {}, fields[2] if len(fields) > 2 else {})
        elif tag == PULL:
            n = (fields[0] or {}).get("n", -1)
            batch = self.pending if n < 0 else self.pending[:n]
            self.pending = [] if n < 0 else self.pending[n:]
            for row in batch:
                self._send(RECORD, row)
            summary: dict[str, Any] = {"has_more": bool(self.pending)}
            if not self.pending:
                summary |= {"type": self.query_type, "t_last": 0, "db": "neo4j"}
                if self.tx is None:
                    self.bookmarks += 1
                    summary["bookmark"] = f"mg:{self.bookmarks}"
            self._send(SUCCESS, summary)
        elif tag == DISCARD:
            self.pending = []
            self._send(SUCCESS, {"has_more": False, "type": self.query_type, "t_last": 0, "db": "neo4j"})
        else:
            self.failed = True
            self._send(FAILURE, {"code": "Neo.ClientError.Request.Invalid", "message": f"unsupported message {tag:#x}"})

    def _run(self, query: str, params: dict[str, Any], extra: dict[str, Any]) -> None:
        graph = self.tx[1] if self.tx else self.db.select_graph(self._graph_name(extra))
        ddl = _CONSTRAINT_DDL.search(query)
        if ddl:
            create_unique(self.db, graph.name, *ddl.groups())
            self.fields, self.pending, self.query_type = [], [], "s"
        else:
            result = graph.query(query, params)
            self.fields = [column[1] for column in result.header]
            self.pending = [[_bolt_value(v) for v in row] for row in result.result_set]
            self.query_type = "w" if (result.nodes_created or result.relationships_created or result.properties_set
                                      or result.nodes_deleted or result.relationships_deleted) else "r"  # fmt: skip
        self._send(SUCCESS, {"fields": self.fields, "t_first": 0} | ({"qid": 0} if self.tx else {}))

    def _end_tx(self, commit: bool) -> None:
        if self.tx is None:
            return
        manager, _ = self.tx
        self.tx = None
        if manager is None:
            return
        if commit:
            manager.__exit__(None, None, None)
        else:
            with contextlib.suppress(_Rollback):
                manager.__exit__(_Rollback, _Rollback(), None)

    def finish(self) -> None:
        self._end_tx(commit=False)
        self.db.connection.close()


class BoltServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, falkordb_socket: str, default_graph: str) -> None:
        self.falkordb_socket = falkordb_socket
        self.default_graph = default_graph
        super().__init__(("127.0.0.1", 0), _Connection)

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.server_address[1]}"

    def start(self) -> BoltServer:
        threading.Thread(target=self.serve_forever, name="bolt-falkordb", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
