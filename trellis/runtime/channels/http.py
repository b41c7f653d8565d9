"""One HTTP request to a receiver, with its failure classified for the dispatcher.

Timeouts, refused connections, 408, 429 and 5xx answers may succeed later (retryable); any
other 4xx, a redirect (not followed: a webhook that moved must be reconfigured) or an unusable
URL never will. `target` names the receiver in reasons, because some URLs carry a secret key
(WeCom robots) and reasons end up in the delivery ledger where admins read them.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from trellis.runtime.channels.base import DeliveryError

USER_AGENT = "Trellis"
SHOWN_BODY = 200  # characters of an error answer quoted in the reason


def send(method: str, url: str, *, target: str, timeout: float, headers: Mapping[str, str],
         content: bytes | None = None, params: str | None = None) -> httpx.Response:
    """The receiver's answer when it is a 2xx, else DeliveryError."""
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{params}"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
            response = client.request(method, url, content=content, headers=dict(headers))
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
        raise DeliveryError(f"{target} is not a usable http(s) URL: {error}", retryable=False) from error
    except httpx.TimeoutException as error:
        raise DeliveryError(f"{target} did not answer within {timeout:g} s") from error
    except httpx.ConnectError as error:
        raise DeliveryError(f"could not connect to {target}: {error}") from error
    except httpx.HTTPError as error:
        raise DeliveryError(f"HTTP request to {target} failed: {error}") from error
    status = response.status_code
    if 200 <= status < 300:
        return response
    retryable = status in (408, 429) or status >= 500
    raise DeliveryError(f"HTTP {status} from {target}: {response.text[:SHOWN_BODY]}", retryable=retryable)
