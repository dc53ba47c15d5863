"""IBM Maximo as the CMMS, through its REST JSON API: :class:`MaximoCMMS` (:mod:`.backend`) on a
:class:`MaximoClient` (:mod:`.client`: requests, retries, paging, refusals) that reads and writes
Maximo's records through :mod:`.payloads`."""

from maintgraph.tools.maximo.backend import MaximoCMMS
from maintgraph.tools.maximo.client import DEFAULT_MAX_RETRIES, MaximoClient

__all__ = ["DEFAULT_MAX_RETRIES", "MaximoCMMS", "MaximoClient"]
