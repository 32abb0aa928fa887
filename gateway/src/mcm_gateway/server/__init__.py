"""The gateway's own HTTP/1.1 server (production front end; see serve.py for why)."""
from mcm_gateway.server.serve import FrontServer, ServerLimits, serve

__all__ = ["FrontServer", "ServerLimits", "serve"]
