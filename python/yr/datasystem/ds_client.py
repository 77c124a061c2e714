"""``yr.datasystem.ds_client``: one connection to the worker shared by ``kv()``, ``object()`` and ``hetero()``."""
from ._base import ClientBase
from .hetero_client import HeteroClient
from .kv_client import KVClient
from .object_client import ObjectClient

__all__ = ["DsClient"]


class DsClient(ClientBase):
    def __init__(self, host="", port=0, connect_timeout_ms=9000, token="", client_public_key="",
                 client_private_key="", server_public_key="", access_key="", secret_key="", tenant_id="",
                 enable_cross_node_connection=False, req_timeout_ms=0, service_discovery=None):
        super().__init__(host, port, connect_timeout_ms, req_timeout_ms)

    def kv(self):
        return KVClient._sharing(self._ready())

    def object(self):
        return ObjectClient._sharing(self._ready())

    def hetero(self):
        return HeteroClient._sharing(self._ready())
