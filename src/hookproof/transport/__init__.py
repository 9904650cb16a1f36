"""The HTTP model and the transports: a request as it goes on the wire, how it is sent and
answered.

It owns the request (``wire``: :class:`WireRequest` and its headers), how payloads are encoded
(``encoding``: JSON, and forms with repeated keys), the delivery client over ``requests``
(``client``: one keep-alive session, every exchange timed, each transport failure named),
in-process targets (``inprocess``: WSGI and ASGI apps through httpx) and what one delivery
caused in process (``scope``: platform calls, tracebacks). The platform's REST API, stubbed,
is provider knowledge: :mod:`hookproof.catalogue.platform_stub`.

It may import only the base modules (``errors``, ``safejson``, ``scrub``, ``hookspecs``): it
knows nothing of providers, signatures or checks.
"""
