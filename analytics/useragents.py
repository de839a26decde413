"""What a user agent string says: the device class, and whether it is a bot (no Flask)."""

from __future__ import annotations

import re

BOT_PATTERN = re.compile(
    r"bot\b|crawl|spider|slurp|headlesschrome|phantomjs|lighthouse|pingdom|uptime|monitor|"
    r"curl/|wget/|python-requests|python-urllib|go-http-client|okhttp|java/|facebookexternalhit|"
    r"preview|scrapy|httpclient|axios/",
    re.IGNORECASE,
)


def is_bot(user_agent: str | None) -> bool:
    """True for crawlers, monitors and scripts (an empty user agent counts as a bot too)."""
    if not user_agent:
        return True
    return BOT_PATTERN.search(user_agent) is not None


def device_class(user_agent: str | None) -> str:
    """desktop, mobile, tablet or unknown."""
    agent = (user_agent or "").lower()
    if not agent:
        return "unknown"
    if "ipad" in agent or "tablet" in agent:
        return "tablet"
    if "mobi" in agent or "iphone" in agent or "android" in agent:
        return "mobile"
    return "desktop"
