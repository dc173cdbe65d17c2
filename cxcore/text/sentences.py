"""Cut a customer comment into sentences, in French and English."""

from __future__ import annotations

import re

# Quotes and brackets closing with the sentence stay with it, French « … » spacing included.
_CLOSERS = r"""["'»”’)\]]*(?:[^\S\n]+»)?"""
_END = _CLOSERS + r"(?=\s|$)"
_LOWER = r"[a-zà-öø-ÿœ]"
_UPPER = r"[A-ZÀ-ÖØ-ÞŒ]"
# Pictographs, symbols and dingbats, then what joins code points into one emoji: the joiner,
# variation selectors, keycaps (skin tones are pictograph code points already).
_EMOJI = r"\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF"
_EMOJI_PART = _EMOJI + r"\uFE0F\u200D\u20E3"
_MARKS = r"[.!?…]"
# A full stop after these is part of the word. Look-behinds need one width per group.
_NOT_ABBREVIATION = (
    r"(?<!\b[A-Za-z]\.)"  # initials and the pieces of e.g., i.e., U.S.
    r"(?<!\b(?i:mr|dr|st|vs|cf|ex|jr|sr|nb|mm|ms|pp)\.)"
    r"(?<!\b(?i:mme|mrs|env|tel|tél|ref|réf|art|fig|vol|apt|ave)\.)"
    r"(?<!\b(?i:mlle|prof)\.)"
)

# A line break, with any blank lines and the bullet opening the next line.
_LINE_BREAK = r"(?<=\n)\s*(?:[-*•·–—][^\S\n]+)?"
# "!" or "?" from the start of a run of marks: "!!!", "?!".
_EXCLAMATION = rf"(?<=[!?])(?<!{_MARKS}.){_MARKS}*{_END}"
# An ellipsis ends the sentence unless the next word goes on in lower case.
_ELLIPSIS = rf"(?<!{_MARKS}.)(?:(?<=…)|(?<=\.)\.+){_MARKS}*{_END}(?!\s+{_LOWER})"
# A full stop, but not after an abbreviation; "No. 5" is a number, "etc. and more" goes on.
_FULL_STOP = (
    rf"(?<=\.)(?<!{_MARKS}.){_NOT_ABBREVIATION}{_END}"
    rf"(?!(?<=\b[Nn]o\.)\s+\d)(?!(?<=\b(?i:etc)\.)\s+{_LOWER})"
)
# A mark glued to the next sentence for want of a space: "ring.They", "cost!Thank".
_GLUED = rf"(?<={_LOWER}{_LOWER}[.!?])[.!?]*(?={_UPPER}{_LOWER})"
# Emoji closing a sentence when a capital opens the next one ("Parfait 👍 Livraison"), from the
# start of the run, but not standing for a verb after a one-letter subject ("I ❤️ Oura").
_EMOJI_END = (
    rf"(?<=[{_EMOJI}])(?<![{_EMOJI_PART}].)(?<!\b[^\W\d_][^\S\n].)"
    rf"[{_EMOJI_PART}]*(?=[^\S\n]+{_UPPER})"
)
# Every boundary begins with one character of a small set, so the regex engine can skip from
# candidate to candidate in C; look-behinds on that first character then tell the cases apart.
_BOUNDARY = re.compile(
    rf"[.!?…\n{_EMOJI}]"
    rf"(?:{_LINE_BREAK}|{_EXCLAMATION}|{_ELLIPSIS}|{_FULL_STOP}|{_GLUED}|{_EMOJI_END})"
)
_LEADING_BULLET = re.compile(r"\s*[-*•·–—][^\S\n]+")
_RULE = re.compile(r"[-*•·–—_=~]+")  # a lone bullet or a separator line says nothing
_LETTER = re.compile(r"[^\W\d_]")
_LIST_NUMBER = re.compile(r"\d{1,2}[.)]")


def split(text: str) -> list[str]:
    """Return the sentences of `text`, stripped, in order; none for a blank text.

    Pieces without a letter (emoji, "!!!", a list number) join the sentence next to them, or
    stand alone when the whole text is made of them: emoji still carry sentiment.
    """
    bullet = _LEADING_BULLET.match(text)
    start = bullet.end() if bullet else 0
    pieces: list[str] = []
    for boundary in _BOUNDARY.finditer(text, start):
        # Line breaks are dropped; end marks and emoji stay with their sentence.
        line_break = text[boundary.start()] == "\n"
        pieces.append(text[start : boundary.start() if line_break else boundary.end()])
        start = boundary.end()
    pieces.append(text[start:])
    return _attach_wordless(pieces)


def _attach_wordless(pieces: list[str]) -> list[str]:
    """Strip pieces, drop blank ones, and join those without a letter ("»", "👍👍", "1.") to
    the sentence they belong to."""
    sentences: list[str] = []
    carried = ""
    for piece in map(str.strip, pieces):
        if not piece or (piece[0] in "-*•·–—_=~" and _RULE.fullmatch(piece)):
            continue
        if _LETTER.search(piece):
            sentences.append(f"{carried} {piece}" if carried else piece)
            carried = ""
        elif sentences and not _LIST_NUMBER.fullmatch(piece):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            carried = f"{carried} {piece}" if carried else piece
    if carried and sentences:
        sentences[-1] = f"{sentences[-1]} {carried}"
    elif carried:
        sentences.append(carried)
    return sentences
