"""One HTTP request to a receiver, through the outbound guard, with its failure classified for
the dispatcher. Every outgoing HTTP request of Trellis is made here (a test keeps it so).

Timeouts, refused connections, 408, 429 and 5xx answers may succeed later (retryable); any
other 4xx, a redirect (not followed: a webhook that moved must be reconfigured), an unusable
URL or a destination the outbound policy refuses never will. `target` names the receiver in
reasons, because some URLs carry a secret key (WeCom robots) and reasons end up in the delivery
ledger where admins read them. Reasons give the status, never the receiver's answer: a body
quoted into the ledger would let a rule read whatever the receiver says (an internal service's
error page, a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from trellis.platform.outbound import SCHEMES, OutboundPolicy
from trellis.runtime.channels import outbound
from trellis.runtime.channels.base import DeliveryError


def send(method: str, url: str, *, policy: OutboundPolicy, target: str, timeout: float,
         headers: Mapping[str, str], content: bytes | None = None, params: str | None = None) -> httpx.Response:
    """The receiver's answer when it is a 2xx, else DeliveryError (OutboundRefused when the
    policy refuses where the URL leads)."""
    if urlsplit(url.strip()).scheme.lower() not in SCHEMES:
        raise DeliveryError(f"{target} is not a usable http(s) URL", retryable=False)
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{params}"
    try:
        with outbound.client(policy, timeout) as client:
            response = client.request(method, url, content=content, headers=dict(headers))
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise DeliveryError(f"{target} is not a usable http(s) URL: {error}", retryable=False) from error
    except httpx.TimeoutException as error:
        raise DeliveryError(f"{target} did not answer within {timeout:g} s") from error
    except httpx.ConnectError as error:
        raise DeliveryError(f"could not connect to {target}: {error}") from error
    except httpx.HTTPError as error:
        raise DeliveryError(f"HTTP request to {target} failed: {error}") from error
    except outbound.OutboundRefused as error:
        raise outbound.OutboundRefused(error.why, target) from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    retryable = status in (408, 429) or status >= 500
    raise DeliveryError(f"HTTP {status} from {target}", retryable=retryable)
