"""Pure: one canonical form per link, so the same article from two feeds is one item.

Tracking parameters go (`utm_*`, `fbclid`, `gclid` ...), known redirectors whose target sits
in the URL are unwrapped (Google News `url=`, Facebook `l.php?u=`, ...), the scheme and host
are lower-cased, default ports and fragments dropped. The query keeps its other parameters in
their order: `?id=1&page=2` still names one page. A link that is not http(s) is returned as is.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MAX_UNWRAP = 3   # redirectors wrapping redirectors: at most this many layers are peeled

TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mkt_tok", "ocid",
    "cmpid", "ncid", "sr_share", "_ga", "_gl", "guccounter", "guce_referrer",
    "guce_referrer_sig", "spm", "share", "ref_src", "ref_url", "s_cid", "wt.mc_id", "at_medium",
    "at_campaign", "xtor", "smid", "cmp", "__twitter_impression", "via",
})
# host (or host suffix) -> query parameters that carry the target URL
REDIRECTORS: dict[str, tuple[str, ...]] = {
    "news.google.com": ("url",),
    "www.google.com": ("url", "q"),
    "google.com": ("url", "q"),
    "l.facebook.com": ("u",),
    "lm.facebook.com": ("u",),
    "t.umblr.com": ("z",),
    "out.reddit.com": ("url",),
    "href.li": (),
    "www.bing.com": ("url",),
    "link.zhihu.com": ("target",),
    "weixin110.qq.com": ("url",),
}


def canonical_link(link: str | None) -> str | None:
    """The link without tracking, redirect wrappers, fragment or case differences in the host."""
    if not link:
        return link
    for _ in range(MAX_UNWRAP):
        target = _unwrapped(link)
        if target is None:
            break
        link = target
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return link
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return link
    host = parts.hostname.lower()
    port = parts.port if _explicit_port(parts) else None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not _tracking(k)], doseq=True)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _explicit_port(parts: object) -> bool:
    try:
        return parts.port is not None  # type: ignore[attr-defined]
    except ValueError:
        return False


def _tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def _unwrapped(link: str) -> str | None:
    """The target a known redirector carries in its query, or None."""
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    names = REDIRECTORS.get(host)
    if names is None:
        return None
    if not names:  # href.li/?https://target
        target = unquote(parts.query)
        return target if target.startswith(("http://", "https://")) else None
    params = dict(parse_qsl(parts.query))
    for name in names:
        target = params.get(name, "")
        if target.startswith(("http://", "https://")):
            return target
    return None


def identity_keys(item_id: str, link: str | None) -> tuple[str, ...]:
    """What makes two items one: the guid (when it is not a link) and the canonical link."""
    keys = []
    canon = canonical_link(link) if link else None
    if canon:
        keys.append(f"link:{canon}")
    if item_id and item_id != link:
        if item_id.startswith(("http://", "https://")):
            keys.append(f"link:{canonical_link(item_id)}")
        else:
            keys.append(f"guid:{item_id}")
    return tuple(dict.fromkeys(keys))
