"""Make a raw comment ready for reading: markup out, whitespace tidied, binary refused, cut."""

from __future__ import annotations

import html
import re
import unicodedata

from cxcore.text.types import FLAG_BINARY, FLAG_EMPTY, FLAG_MARKUP, FLAG_TRUNCATED, Cleaned

MAX_CHARS = 5000

# Only this much raw input is ever looked at, so a 1 MB paste costs no more than a long comment.
# Markup gets a wider window because tags, styles and scripts can dwarf the words they carry.
_PLAIN_WINDOW_FACTOR = 2
_MARKUP_WINDOW_FACTOR = 20
# The binary test reads a sample: random bytes give themselves away within a few hundred chars.
_BINARY_SAMPLE = 4000
_BINARY_SHARE = 0.2  # of unreadable characters (U+FFFD, controls) in the sample
_BINARY_MIN_BAD = 3  # a stray NUL or two in a real comment is removed, not a reason to refuse it
_BLOB_MIN = 64  # base64 or hex without a break for this long is data, not a word

# Characters that need more than the fast path's tidying of spaces and newlines: controls,
# whitespace other than " " and "\n", and invisible format characters.
_IRREGULAR = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\xa0\u00ad\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u2060"
    r"\u3000\ud800-\udfff\ufeff]"
)
_MARKUP_HINT = re.compile(r"<[A-Za-z/!]")
_SCRIPT_OR_STYLE = re.compile(
    r"<(script|style|head|template|xml)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)|<![A-Za-z][^<>]*>", re.DOTALL)
# Tag names are listed so that "x<y and y>z" or "<3" in a comment is left alone.
_TAG_NAMES = (
    r"a|abbr|address|article|aside|b|base|bdi|bdo|big|blockquote|body|br|button|caption|center|"
    r"cite|code|col|colgroup|dd|del|details|dfn|div|dl|dt|em|embed|fieldset|figcaption|figure|"
    r"font|footer|form|h[1-6]|header|hr|html|i|iframe|img|input|ins|kbd|label|legend|li|link|"
    r"main|mark|meta|nav|noscript|object|ol|optgroup|option|p|param|picture|pre|q|s|samp|"
    r"section|select|small|source|span|strike|strong|sub|summary|sup|svg|table|tbody|td|"
    r"textarea|tfoot|th|thead|title|tr|tt|u|ul|var|video|wbr|o:p|path|g"
)
_ATTRIBUTES = r"""(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>]+))?)*\s*/?"""
# A run of block tags (with only whitespace between) ends one line, however deeply nested.
_BLOCK_BREAKS = re.compile(
    r"(?:(?:<(?:br|hr)" + _ATTRIBUTES + r">"
    r"|</?(?:p|div|li|ul|ol|tr|table|h[1-6]|blockquote|section|article|header|footer|pre|dd|dt|"
    r"dl|title|address|details|summary|figure|figcaption|main|nav|aside)" + _ATTRIBUTES + r">"
    r")\s*)+",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?(?:" + _TAG_NAMES + r")" + _ATTRIBUTES + r">", re.IGNORECASE)
# Only entities closed by ";" are decoded: html.unescape alone would turn "this&nothing" into
# "this¬hing" because HTML5 accepts a few names without the semicolon.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
_BLOB = re.compile(rf"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/=]{{{_BLOB_MIN},}}")
_DIGIT = re.compile(r"[0-9]")
_LINK = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)\S+")
# Line and paragraph separators and form feeds end a line; soft hyphens, zero-width spaces,
# word joiners and byte-order marks are invisible and would split words. Lone surrogates
# (from bytes decoded with "surrogateescape") cannot be encoded, so cannot be stored. The
# zero-width joiner (U+200D) stays: it holds emoji sequences together.
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ud800-\udfff\ufeff]"
)


def clean(text: str, *, limit: int = MAX_CHARS) -> Cleaned:
    """Return the readable part of `text`, with flags saying what was done to it."""
    if not isinstance(text, str):
        text = _as_text(text, limit)
    flags: list[str] = []

    if len(text) > limit or not _is_plain(text):
        text = _repair(text, limit, flags)
        if FLAG_BINARY in flags:
            return Cleaned(text="", flags=tuple(flags))
        text = _tidy_whitespace(text)
    elif "  " in text or ("\n" in text and _untidy_lines(text)):
        text = _tidy_whitespace(text)
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.strip()

    if len(text) > limit:
        text = _cut(text, limit)
        if FLAG_TRUNCATED not in flags:
            flags.append(FLAG_TRUNCATED)
    if not text:
        flags.append(FLAG_EMPTY)
    return Cleaned(text=text, flags=tuple(flags))


def _is_plain(text: str) -> bool:
    """Tell whether only spaces and newlines can need tidying (the common, fast case)."""
    if "<" in text or "&" in text or "\ufffd" in text:
        return False
    # isprintable() is a single C pass, but is False for any newline; the regex then decides.
    if not text.isprintable() and _IRREGULAR.search(text):
        return False
    return not (_may_hold_blob(text) and _BLOB.search(text))


def _untidy_lines(text: str) -> bool:
    return " \n" in text or "\n " in text or "\n\n\n" in text


def _as_text(value: object, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        # At most four bytes a character: nothing past this can reach the reading window.
        window = bytes(value[: limit * _MARKUP_WINDOW_FACTOR * 4])
        return window.decode("utf-8", errors="replace")
    return str(value)


def _repair(text: str, limit: int, flags: list[str]) -> str:
    """Do the slow steps: window, binary tests, invisible characters, markup, entities."""
    size = len(text)
    text = text[: limit * _MARKUP_WINDOW_FACTOR]
    looks_like_markup = _MARKUP_HINT.search(text) is not None
    if not looks_like_markup:
        text = text[: limit * _PLAIN_WINDOW_FACTOR]
    if len(text) < size:
        flags.append(FLAG_TRUNCATED)

    if _is_unreadable(text):
        flags.append(FLAG_BINARY)
        return ""
    # Invisible characters go before markup is read, so a NUL cannot hide a tag.
    text = _remove_invisible(text)
    if looks_like_markup:
        text = _strip_markup(text, flags)
    if "&" in text:
        decoded = _ENTITY.sub(_unescape, text)
        if decoded != text:
            text = _remove_invisible(decoded)  # "&#xAD;" or "&#x2028;" decode to such
    if _is_mostly_blobs(text):
        flags.append(FLAG_BINARY)
        return ""
    return text


def _remove_invisible(text: str) -> str:
    if "\r" in text or _LINE_BREAKS.search(text):
        text = _LINE_BREAKS.sub("\n", text)
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    return text


def _strip_markup(text: str, flags: list[str]) -> str:
    stripped = _SCRIPT_OR_STYLE.sub("", text)
    stripped = _COMMENT.sub("", stripped)
    stripped = _BLOCK_BREAKS.sub("\n", stripped)
    stripped = _TAG.sub("", stripped)
    if stripped != text:
        flags.append(FLAG_MARKUP)
    return stripped


def _unescape(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def _is_unreadable(text: str) -> bool:
    """Tell whether replacement and control characters give `text` away as binary data."""
    sample = text[:_BINARY_SAMPLE]
    if sample.isprintable() and "\ufffd" not in sample:
        return False
    unreadable = len(_UNREADABLE.findall(sample))
    return unreadable >= _BINARY_MIN_BAD and unreadable > _BINARY_SHARE * len(sample)


def _is_mostly_blobs(text: str) -> bool:
    """Tell whether base64 or hex runs make up most of `text`."""
    sample = text[:_BINARY_SAMPLE]
    if not _may_hold_blob(sample):
        return False
    if "://" in sample or "www." in sample:
        # A long link is something the customer pasted on purpose, however random it looks.
        sample = _LINK.sub(" ", sample)
    blobs = [blob for blob in _BLOB.findall(sample) if _DIGIT.search(blob)]
    # A long token id or link in a real comment is fine; data is when blobs are most of it.
    words = len(sample) - sample.count(" ")
    return sum(map(len, blobs)) > 0.5 * words


def _may_hold_blob(text: str) -> bool:
    # A blob long enough to matter leaves few spaces; ordinary prose has one every few letters.
    return len(text) >= _BLOB_MIN and text.count(" ") * 10 < len(text)


def _tidy_whitespace(text: str) -> str:
    """Collapse runs of spaces, trim every line, and keep at most one blank line in a row."""
    # str.split() does the collapsing in C, far faster than a regex substitution.
    if "\n" not in text:
        return " ".join(text.split())
    lines: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines)


def _cut(text: str, limit: int) -> str:
    """Cut before `limit`, at the last whitespace if there is one in the second half."""
    head = text[: limit + 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    end = space if space > limit // 2 else limit
    return text[:end].rstrip()
