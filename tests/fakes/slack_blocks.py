"""Block Kit as Slack checks it: what the Slack fake answers `invalid_blocks` to (block types,
50 blocks, section/header text limits, rich_text elements and styles), and the `<...>` control
sequences Slack would act on in mrkdwn."""

from __future__ import annotations

import re
from typing import Any

BLOCK_TYPES = {"section", "context", "header", "divider", "actions", "image", "rich_text",
               "input", "file", "video", "markdown"}
SPECIAL = re.compile(r"<([^<>]*)>")


def block_error(blocks: Any) -> str | None:
    """Why Slack would answer `invalid_blocks`, or None."""
    if not isinstance(blocks, list) or len(blocks) > 50:
        return "more than 50 blocks" if isinstance(blocks, list) else "blocks is not a list"
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            return f"block {i}: unknown type"
        if len(str(block.get("block_id", ""))) > 255:
            return f"block {i}: block_id too long"
        problem = _block_problem(block)
        if problem:
            return f"block {i}: {problem}"
    return None


def _text_problem(obj: Any, limit: int, kinds: tuple[str, ...]) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return "text must be a text object"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return "text must be a non-empty string"
    return f"text longer than {limit}" if len(text) > limit else None


def _block_problem(block: dict[str, Any]) -> str | None:
    kind = block["type"]
    if kind == "header":
        return _text_problem(block.get("text"), 150, ("plain_text",))
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return "section needs text or fields"
        if "text" in block:
            problem = _text_problem(block["text"], 3000, ("plain_text", "mrkdwn"))
            if problem:
                return problem
        fields = block.get("fields", [])
        if len(fields) > 10:
            return "more than 10 fields"
        return next((p for f in fields if (p := _text_problem(f, 2000, ("plain_text", "mrkdwn")))),
                    None)
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return "context needs 1 to 10 elements"
        return next((p for e in elements if e.get("type") != "image"
                     and (p := _text_problem(e, 3000, ("plain_text", "mrkdwn")))), None)
    if kind == "rich_text":
        return _rich_text_problem(block)
    return None


# rich_text (docs.slack.dev/reference/block-kit/blocks/rich-text-block): sub-elements, then
# the elements inside them, and the style keys a text or link element may carry
RICH_PARTS = {"rich_text_section", "rich_text_quote", "rich_text_list", "rich_text_preformatted"}
RICH_ELEMENTS = {"text": {"text"}, "link": {"url"}, "emoji": {"name"}, "user": {"user_id"},
                 "channel": {"channel_id"}, "usergroup": {"usergroup_id"}, "broadcast": {"range"},
                 "date": {"timestamp", "format"}, "color": {"value"}, "team": {"team_id"}}
RICH_OPTIONAL = {"style", "text", "unsafe", "unicode", "fallback", "url"}
RICH_STYLES = {"bold", "italic", "strike", "code", "underline", "highlight",
               "client_highlight", "unlink"}
RICH_TEXT_MAX = 3000   # Slack documents none; reports show msg_blocks_too_long beyond ~13,000
                       # characters a message. Held, like a section, to 3,000 a block.


def _rich_text_problem(block: dict[str, Any]) -> str | None:
    parts = block.get("elements")
    if not isinstance(parts, list) or not parts:
        return "rich_text needs elements"
    total = 0
    for part in parts:
        if not isinstance(part, dict) or part.get("type") not in RICH_PARTS:
            return "rich_text: unknown sub-element"
        elements = part.get("elements")
        if not isinstance(elements, list) or not elements:
            return f"{part['type']} needs elements"
        if part["type"] == "rich_text_list":
            if part.get("style") not in ("bullet", "ordered"):
                return "rich_text_list needs style bullet or ordered"
            if any(not isinstance(e, dict) or e.get("type") != "rich_text_section" for e in elements):
                return "rich_text_list holds rich_text_section elements"
            continue
        for element in elements:
            problem = _rich_element_problem(element)
            if problem:
                return problem
            total += len(element.get("text", ""))
    return f"rich_text longer than {RICH_TEXT_MAX}" if total > RICH_TEXT_MAX else None


def _rich_element_problem(element: Any) -> str | None:
    if not isinstance(element, dict) or element.get("type") not in RICH_ELEMENTS:
        return "rich_text: unknown element"
    required = RICH_ELEMENTS[element["type"]]
    if any(not isinstance(element.get(key), str) or not element[key] for key in required):
        return f"{element['type']} element needs {', '.join(sorted(required))}"
    if set(element) - required - RICH_OPTIONAL - {"type"}:
        return f"{element['type']} element: unknown field"
    if "text" in element and not isinstance(element["text"], str):
        return "text must be a string"
    style = element.get("style", {})
    if not isinstance(style, dict) or set(style) - RICH_STYLES or \
            any(not isinstance(v, bool) for v in style.values()):
        return f"{element['type']} element: bad style"
    return None


def rich_elements(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every element inside the rich_text blocks (text, link, broadcast...), in order."""
    return [element for block in blocks if block.get("type") == "rich_text"
            for part in block["elements"] for element in part["elements"]]


def specials(mrkdwn: str) -> list[str]:
    """Every `<...>` control sequence Slack would act on: links, mentions, <!channel>..."""
    return SPECIAL.findall(mrkdwn)
