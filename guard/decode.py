"""Decoding layers: text hidden in escapes, base64, hex, character codes, Morse or a letter cipher.

Each decoder returns the text with what it decoded put in place, plus, for every character of
that decoded text, the span of the original text it came from, so that a keyword found in the
decoded text is reported at the encoded run in the original. The ciphers are those CipherChat
(RobustNLP/CipherChat) uses to slip past filters: Caesar, Atbash, Morse, ASCII codes, Unicode
and UTF-8 byte escapes, plus the encodings garak probes (base64, hex, binary, %xx, &#...;).
Letter ciphers are tried only where the letters do not look like English (a letter-frequency test).
"""

from __future__ import annotations

import base64
import binascii
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Callable, Iterator

import numpy as np

from guard import fastscan
from guard.normalize import has_leet_symbols, tables

__all__ = ["Decoded", "decodings"]

MIN_RUN = 16  # shortest base64/hex run worth decoding
SHORT_TRIES = 4  # letter-cipher keys decoded and read for a short text, best frequency fits first
_CHUNK = 2048  # letters are tested for a cipher in chunks of this many characters
_MIN_LETTERS = 24  # letters sampled from a chunk before it is tested for a cipher
_SAMPLE = 4


@dataclass(frozen=True)
class Decoded:
    """A decoded form of a text, and where each of its characters came from, told by segments:
    (start in text, start and end in the original, decoded), in order. A decoded segment's
    characters all come from [start, end) of the original; a plain one's one by one from start on.
    (Segments, not arrays: most decoded texts hold no match, and span() needs only two lookups.)"""

    name: str
    text: str
    segments: tuple[tuple[int, int, int, bool], ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of decoded characters [start, end)."""
        return self._origin(start)[0], self._origin(end - 1)[1]

    def _origin(self, i: int) -> tuple[int, int]:
        at, o0, o1, decoded = self.segments[bisect_right(self._segment_starts, i) - 1]
        return (o0, o1) if decoded else (o0 + i - at, o0 + i - at + 1)

    @cached_property
    def _segment_starts(self) -> list[int]:
        return [segment[0] for segment in self.segments]

    @cached_property
    def starts(self) -> np.ndarray:
        """starts[i], ends[i]: the original span decoded character i came from."""
        return self._arrays()[0]

    @cached_property
    def ends(self) -> np.ndarray:
        return self._arrays()[1]

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        starts, ends = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        bounds = self._segment_starts[1:] + [len(self.text)]
        for (at, o0, o1, decoded), stop in zip(self.segments, bounds):
            if decoded:
                starts.append(np.full(stop - at, o0))
                ends.append(np.full(stop - at, o1))
            else:
                starts.append(np.arange(o0, o0 + stop - at))
                ends.append(np.arange(o0 + 1, o0 + stop - at + 1))
        return np.concatenate(starts), np.concatenate(ends)


def _readable(s: str | None, min_letters: int = 3) -> str | None:
    """s if it looks like text someone wrote (at least 90% printable, min_letters letters), else None."""
    if not s:
        return None
    if not s.isprintable() and sum(c.isprintable() or c in "\n\t" for c in s) < 0.9 * len(s):
        return None
    letters = 0
    for c in s:  # stops as soon as there are enough
        letters += c.isalpha()
        if letters >= min_letters:
            return s
    return None


def _utf8_or_gbk(data: bytes) -> str | None:
    for enc in ("utf-8", "gbk"):
        text = data.decode(enc, "replace")  # most runs are not text: no exception raised for them
        if "\ufffd" not in text:
            return text  # nothing was replaced, so a strict decoding gives the same text
        try:
            return data.decode(enc)  # a U+FFFD the data itself holds, or an error
        except UnicodeDecodeError:
            pass
    return None


def _unicode_escapes(m: re.Match) -> str | None:
    return "".join(chr(int(h, 16)) for h in re.findall(r"\\[uU]\{?([0-9a-fA-F]{4,8})\}?", m.group()))


def _byte_escapes(m: re.Match) -> str | None:
    return _utf8_or_gbk(bytes.fromhex("".join(re.findall(r"[0-9a-fA-F]{2}", m.group().replace("\\x", " ")))))


def _percent(m: re.Match) -> str | None:
    return _utf8_or_gbk(bytes.fromhex(m.group().replace("%", "")))


def _entities(m: re.Match) -> str | None:
    out = []
    for num in re.findall(r"&#([xX][0-9a-fA-F]+|\d+);", m.group()):
        cp = int(num[1:], 16) if num[0] in "xX" else int(num)
        if cp > 0x10FFFF:
            return None
        out.append(chr(cp))
    return "".join(out)


_NOT_A_WORD = re.compile(r"[0-9+/_-]")
_LOWER, _UPPER = re.compile(r"[a-z]"), re.compile(r"[A-Z]")


def _base64(m: re.Match) -> str | None:
    run = m.group()
    if not (_NOT_A_WORD.search(run) or (_LOWER.search(run) and _UPPER.search(run))):
        return None
    body = run.rstrip("=")
    # Standard or url-safe alphabet: they differ only in '-' and '_', which strict decoding refuses
    # in the standard one, and a body without them decodes the same in both, so one try decides.
    alt = b"-_" if "-" in body or "_" in body else None
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=alt, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _readable(_utf8_or_gbk(data))


_HEX_SEPARATORS = re.compile(r"0x|[\s:,]")
_NUMBER = re.compile(r"\d+")


def _hex(m: re.Match) -> str | None:
    digits = _HEX_SEPARATORS.sub("", m.group())
    if len(digits) % 2:
        return None
    return _readable(_utf8_or_gbk(bytes.fromhex(digits)))


def _binary(m: re.Match) -> str | None:
    bits = re.sub(r"\s", "", m.group())
    if len(bits) % 8:
        return None
    return _readable(_utf8_or_gbk(int(bits, 2).to_bytes(len(bits) // 8, "big")))


def _char_codes(m: re.Match) -> str | None:
    numbers = [int(n) for n in _NUMBER.findall(m.group())]
    if any(n < 9 or n > 0x10FFFF for n in numbers):
        return None
    return _readable("".join(chr(n) for n in numbers), min_letters=max(3, len(numbers) // 2))


MORSE = {".-": "a", "-...": "b", "-.-.": "c", "-..": "d", ".": "e", "..-.": "f", "--.": "g", "....": "h",
         "..": "i", ".---": "j", "-.-": "k", ".-..": "l", "--": "m", "-.": "n", "---": "o", ".--.": "p",
         "--.-": "q", ".-.": "r", "...": "s", "-": "t", "..-": "u", "...-": "v", ".--": "w", "-..-": "x",
         "-.--": "y", "--..": "z", "-----": "0", ".----": "1", "..---": "2", "...--": "3", "....-": "4",
         ".....": "5", "-....": "6", "--...": "7", "---..": "8", "----.": "9"}
_MORSE_DASHES = str.maketrans({"·": ".", "•": ".", "−": "-", "–": "-", "—": "-", "_": "-"})


def _morse(m: re.Match) -> str | None:
    words = re.split(r" {2,}|\s*/\s*|\n", m.group().translate(_MORSE_DASHES).strip())
    out = []
    for word in words:
        letters = [MORSE.get(code) for code in word.split()]
        if None in letters:
            return None
        out.append("".join(letters))
    return _readable(" ".join(out))


def _tags(m: re.Match) -> str | None:
    return "".join(chr(ord(c) - 0xE0000) for c in m.group())


# Character classes of the encoded runs, for finding candidate runs without a regex pass.
_B64, _NUM, _MORSE, _BIN, _HEX = 1, 2, 4, 8, 16
_CLS = np.zeros(128, dtype=np.uint8)
for _c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-=":
    _CLS[ord(_c)] |= _B64
for _c in "0123456789 ,;":
    _CLS[ord(_c)] |= _NUM
for _c in ".-_ /\n":
    _CLS[ord(_c)] |= _MORSE
for _c in "01 ":
    _CLS[ord(_c)] |= _BIN
for _c in "0123456789abcdefABCDEFx :,":
    _CLS[ord(_c)] |= _HEX

_CLS256 = np.append(_CLS, np.zeros(128, dtype=np.uint8))

# (name, pattern, decoder, character class of its runs, shortest run). Runs are found with numpy
# first, and the regex only looks inside them; class 0 means a cheap substring test decides.
_SUBSTITUTIONS: list[tuple[str, re.Pattern, Callable[[re.Match], str | None], int, int]] = [
    ("tag-characters", re.compile("[\U000E0020-\U000E007E]+"), _tags, 0, 0),
    ("unicode-escape", re.compile(r"(?:\\[uU]\{?[0-9a-fA-F]{4,8}\}?)+"), _unicode_escapes, 0, 0),
    ("byte-escape", re.compile(r"(?:\\x[0-9a-fA-F]{2})+"), _byte_escapes, 0, 0),
    ("percent", re.compile(r"(?:%[0-9a-fA-F]{2}){2,}"), _percent, 0, 0),
    ("html-entity", re.compile(r"(?:&#(?:[xX][0-9a-fA-F]+|\d+);)+"), _entities, 0, 0),
    ("binary", re.compile(r"(?<![\w])[01]{8}(?:\s?[01]{8}){2,}(?![\w])"), _binary, _BIN, 24),
    ("hex", re.compile(r"(?<![\w])(?:0x)?[0-9a-fA-F]{2}(?:[ :,]?(?:0x)?[0-9a-fA-F]{2}){7,}(?![\w])"), _hex, _HEX,
     MIN_RUN),
    ("base64", re.compile(r"(?<![\w+/=-])[A-Za-z0-9+/_-]{%d,}={0,2}" % MIN_RUN), _base64, _B64, MIN_RUN),
    ("char-codes", re.compile(r"(?<![\d.])\d{2,6}(?:[ ,;]+\d{2,6}){3,}(?![\d.])"), _char_codes, _NUM, 11),
    ("morse", re.compile(r"(?<![\w.-])[.\-·•−–—_]{1,6}(?:(?: {1,3}| ?/ ?|\n)[.\-·•−–—_]{1,6}){3,}"), _morse, _MORSE,
     7),
]
# The character every run of these starts with; runs are looked for only near it.
_GATES = {"tag-characters": None, "unicode-escape": "\\", "byte-escape": "\\", "percent": "%", "html-entity": "&"}
# A cheap test each of those needs to pass first (C-speed substring or regex search).
_PERCENT_PAIR = re.compile(r"%[0-9a-fA-F]{2}%[0-9a-fA-F]{2}")
_GATE_TESTS = {"unicode-escape": lambda t: "\\u" in t or "\\U" in t, "byte-escape": lambda t: "\\x" in t,
               "percent": lambda t: _PERCENT_PAIR.search(t) is not None, "html-entity": lambda t: "&#" in t}
_GATE_REACH = 16  # two marks this close are one cluster; a run is looked for up to this far after a mark
_FEW_MARKS = 64  # up to this many marks, _near finds them one by one


def _near(text: str, mark: str, raw: Callable[[], np.ndarray]) -> list[tuple[int, int]]:
    """Windows around the places where mark occurs: marks this close (_GATE_REACH) are one cluster,
    and a window reaches _GATE_REACH past its cluster's last mark. raw() gives the text's code points.

    A few marks are found with str.find (making the array costs more than finding them); many with numpy.
    """
    if text.count(mark) <= _FEW_MARKS:
        out: list[tuple[int, int]] = []
        at = text.find(mark)
        while at >= 0:
            first = last = at
            at = text.find(mark, last + 1)
            while 0 <= at <= last + _GATE_REACH:
                last, at = at, text.find(mark, at + 1)
            out.append((first, min(last + _GATE_REACH, len(text))))
        return out
    at = np.flatnonzero(raw() == ord(mark))
    breaks = np.flatnonzero(np.diff(at) > _GATE_REACH)
    firsts = np.concatenate(([at[0]], at[breaks + 1]))
    lasts = np.concatenate((at[breaks], [at[-1]]))
    return [(int(a), min(int(b) + _GATE_REACH, len(text))) for a, b in zip(firsts, lasts)]


def _runs(classes: np.ndarray, blocks: np.ndarray, bit: int, min_len: int) -> list[tuple[int, int]]:
    """[start, end) of runs of characters of a class, at least min_len (>= 7) long.

    Such a run covers at least (min_len - 3) // 4 whole aligned blocks of 4 characters; blocks
    (the class bytes read 4 at a time as uint32) find those with two operations per block, and
    only around them is a run measured exactly.
    """
    n = len(classes)
    k = (min_len - 3) // 4
    mask = bit * 0x01010101
    full = (blocks & mask) == mask
    for i in range(1, k):
        full = full[:-1] & full[1:]
    out: list[tuple[int, int]] = []
    for b in np.flatnonzero(full):
        if out and 4 * b < out[-1][1]:
            continue
        start, end = 4 * int(b), 4 * int(b) + 4 * k
        while start > 0 and classes[start - 1] & bit:
            start -= 1
        while end < n and classes[end] & bit:
            end += 1
        if end - start >= min_len:
            out.append((start, end))
    return out


def _matches(pattern: re.Pattern, text: str, windows) -> Iterator[re.Match]:
    for a, b in windows:
        yield from pattern.finditer(text, a, b)


_MARGIN = 256  # context kept on each side of a decoded run, so phrases across its edges still match


def _substituted(name: str, text: str, pattern: re.Pattern, decode, windows) -> Iterator[Decoded]:
    """One Decoded per cluster of decoded runs, with some plain context around it."""
    runs: list[tuple[int, int, str]] = []
    for m in _matches(pattern, text, windows):
        if runs and m.start() < runs[-1][1]:
            continue
        try:
            decoded = decode(m)
        except (ValueError, OverflowError):
            decoded = None
        if decoded:
            runs.append((m.start(), m.end(), decoded))
    clusters: list[list[tuple[int, int, str]]] = []
    for run in runs:
        if clusters and run[0] - clusters[-1][-1][1] <= 2 * _MARGIN:
            clusters[-1].append(run)
        else:
            clusters.append([run])
    for cluster in clusters:
        pos = max(cluster[0][0] - _MARGIN, 0)
        pieces: list[str] = []
        segments: list[tuple[int, int, int, bool]] = []
        at = 0  # where the next piece starts in the decoded text
        for s, e, decoded in cluster:
            if s > pos:
                segments.append((at, pos, s, False))
            segments.append((at + s - pos, s, e, True))
            pieces += [text[pos:s], decoded]
            at += s - pos + len(decoded)
            pos = e
        stop = min(cluster[-1][1] + _MARGIN, len(text))
        if stop > pos:
            segments.append((at, pos, stop, False))
        pieces.append(text[pos:stop])
        yield Decoded(name, "".join(pieces), tuple(segments))


# English letter frequencies (a..z), for telling plain English letters from shifted ones.
_ENGLISH = np.array([8.2, 1.5, 2.8, 4.3, 12.7, 2.2, 2.0, 6.1, 7.0, 0.15, 0.77, 4.0, 2.4, 6.7, 7.5, 1.9, 0.095,
                     6.0, 6.3, 9.1, 2.8, 0.98, 2.4, 0.15, 2.0, 0.074]) / 100
_SHIFTS = np.array([np.roll(_ENGLISH, k) for k in range(26)])  # _SHIFTS[k]: English Caesar-shifted by k
_ATBASH = _ENGLISH[::-1]


_LETTER = np.full(256, 255, dtype=np.uint8)
_LETTER[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)] = np.arange(26)
_LETTER[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(26)


def _chunk_counts(text: str, low: np.ndarray | None, sample: int, step: int) -> np.ndarray:
    """Letters a-z (any case) in each chunk of step sampled characters (every sample-th): n x 26."""
    if low is None:
        counts = fastscan.compiled.chunk_letter_counts(text, sample, step)
        return np.frombuffer(counts, dtype=np.int64).reshape(-1, 26)
    letter = _LETTER[low[::sample]]  # 0-25 for a letter, 255 otherwise
    n_chunks = -(-len(letter) // step)
    padded = np.full(n_chunks * step, 26, dtype=np.int32)
    padded[: len(letter)] = np.minimum(letter, 26)
    padded.shape = (n_chunks, step)
    padded += (np.arange(n_chunks, dtype=np.int32) * 27)[:, None]
    return np.bincount(padded.ravel(), minlength=n_chunks * 27).reshape(n_chunks, 27)[:, :26]


def _cipher_candidates(text: str, low: np.ndarray | None) -> dict[tuple[str, int], list[int]]:
    """Letter ciphers that fit some chunk of the text better than plain English does -> those chunks.

    low: the text's code points capped at 0x7F, or None to count with the compiled scanner."""
    # Every 4th character is enough to tell letter frequencies apart, at a quarter of the work.
    sample = _SAMPLE if len(text) > 4 * _CHUNK else 1
    step = _CHUNK // sample
    counts = _chunk_counts(text, low, sample, step)
    totals = counts.sum(axis=1)
    found: dict[tuple[str, int], list[int]] = {}
    # A short text (a question, an answer) can afford a try at any cipher that fits better than
    # English; a long one only where a cipher fits clearly better.
    margin = 1.0 if sample == 1 else 0.6
    # Every chunk at once; each chunk's sums are reduced over the same 26 numbers in the same order
    # as one chunk's alone (tests/test_keywords_fastscan.py holds this to the loop over chunks).
    chunks = np.flatnonzero(totals >= _MIN_LETTERS)
    if not len(chunks):
        return found
    freq = counts[chunks] / totals[chunks, None]
    fits = ((freq[:, None, :] - _SHIFTS[None]) ** 2 / _SHIFTS[None]).sum(axis=2)  # chi-square per chunk and shift
    atbash = ((freq - _ATBASH) ** 2 / _ATBASH).sum(axis=1)
    best = fits.argmin(axis=1)
    rows = np.arange(len(chunks))
    caesar = (best != 0) & (fits[rows, best] < margin * fits[:, 0])
    for i, k in zip(chunks[caesar].tolist(), best[caesar].tolist()):
        found.setdefault(("caesar", k), []).append(i)
    atbash_chunks = chunks[atbash < margin * fits[:, 0]].tolist()
    if atbash_chunks:
        found[("atbash", 0)] = atbash_chunks
    return found


_COMMON = frozenset(
    "the be to of and a in that have i it for not on with he as you do at this but his by from they we say her "
    "she or an will my one all would there their what so up out if about who get which go me when make can like "
    "time no just him know take people into year your good some could them see other than then now look only come "
    "its over think also back after use two how our work first well way even new want because any these give day "
    "most us is are was were has had been did does tell please step make made".split())
_WORDS = re.compile(r"[a-z]+")


def _english_share(text: str) -> float:
    return _share(_WORDS.findall(text.lower()))


def _share(words: list[str]) -> float:
    return sum(map(_COMMON.__contains__, words)) / len(words) if len(words) >= 4 else 1.0


_INVERSE_EXPECTED = np.concatenate((1.0 / _SHIFTS, 1.0 / _ATBASH[None, :])).T  # 26 x 27
_INVERSE_EXPECTED_C = np.ascontiguousarray(_INVERSE_EXPECTED)  # row-major, for the compiled scanner
_FIT_CONSTANT = float(_ENGLISH.sum()) - 2.0
_CLEARLY_ENGLISH = 200  # letters: from this many on, letter frequencies alone tell English apart


def _short_cipher_candidates(text: str, counts) -> dict[tuple[str, int], list[int]]:
    """For a short text: the letter cipher, if any, whose decoding reads more like English.

    Only a text made mostly of Latin letters can be a letter cipher; the tries decode its words
    alone (not the whole text). Ordinary text costs a count of its letters (Chinese text stops
    there) and, for English, a letter-frequency test. counts: the text's letters a-z (26 int64:
    gates' bytes, or an array).
    """
    if fastscan.compiled is not None:
        # The English test where it is clear-cut; where it is close, numpy decides below.
        letters, english = fastscan.compiled.letter_fit(counts, _INVERSE_EXPECTED_C, _FIT_CONSTANT)
        if 2 * letters < len(text) // 2 or (letters >= _CLEARLY_ENGLISH and english):
            return {}
    counts = np.frombuffer(counts, dtype=np.int64)
    letters = int(counts.sum())
    if 2 * letters < len(text) // 2:
        return {}  # far too few letters (the exact test below uses the stripped text and words)
    if letters >= _CLEARLY_ENGLISH:
        freq = counts / letters
        # chi-square against each shift and Atbash in one product: sum((f-e)^2/e) = sum(f^2/e) - 2 + sum(e)
        fits = (freq * freq) @ _INVERSE_EXPECTED + _FIT_CONSTANT
        if 2 * fits[0] < fits[1:].min():
            return {}  # the letters are English letters, unshifted
    words = _WORDS.findall(text.lower())
    if len(words) < 4 or 2 * sum(map(len, words)) < len(text.strip()):
        return {}
    share = _share(words)
    if share >= 0.35:
        return {}
    joined = " ".join(words)
    # Letter frequencies name the likely keys; only the best few are decoded and read.
    counts = np.bincount(_LETTER[np.frombuffer(joined.encode("ascii"), np.uint8)], minlength=256)[:26]
    freq = counts / max(1, counts.sum())
    fits = ((freq[None, :] - _SHIFTS) ** 2 / _SHIFTS).sum(axis=1)
    atbash = float(((freq - _ATBASH) ** 2 / _ATBASH).sum())
    ranked = sorted([(float(fits[k]), "caesar", k) for k in range(1, 26)] + [(atbash, "atbash", 0)])
    tries = [(kind, k) for _, kind, k in ranked[:SHORT_TRIES]]
    scored = [(_english_share(joined.translate(_letter_cipher(kind, k))), kind, k) for kind, k in tries]
    best, kind, k = max(scored)
    return {(kind, k): [0]} if best >= max(0.2, 2 * share) else {}


def _letter_cipher(kind: str, k: int) -> dict[int, int]:
    return str.maketrans(*_cipher_letters(kind, k))


def _cipher_letters(kind: str, k: int) -> tuple[str, str]:
    """The letters a letter cipher's decoding maps, and what it maps them to."""
    lower, upper = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if kind == "atbash":
        return lower + upper, lower[::-1] + upper[::-1]
    back = (26 - k) % 26  # undo a shift of k
    return lower + upper, lower[back:] + lower[:back] + upper[back:] + upper[:back]


def _deciphered(text: str, kind: str, k: int) -> str:
    """text.translate(_letter_cipher(kind, k)), done on the UTF-8 bytes: the cipher maps ASCII
    letters only, which are the bytes below 0x80, and bytes.translate reads a table where
    str.translate looks a non-ASCII text's characters up in a dict one by one (~100 ns each)."""
    table = bytes.maketrans(*(letters.encode("ascii") for letters in _cipher_letters(kind, k)))
    return text.encode("utf-8", "surrogatepass").translate(table).decode("utf-8", "surrogatepass")


def raw_codes(text: str) -> np.ndarray:
    """Code points of the text: uint8 for ASCII text (cheaper), int32 otherwise."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int32)


# Per class: a byte table that turns the UTF-8 text into b"x" for a character of the class and b"."
# for anything else (bytes of non-ASCII characters included), so that `b"x" * n in ...` tells at C
# speed whether a run of n such characters exists anywhere.
_RUN_TABLES = {bit: bytes(b"x"[0] if i < 128 and _CLS[i] & bit else b"."[0] for i in range(256))
               for bit in (_B64, _NUM, _MORSE, _BIN, _HEX)}
_LETTER_BYTES = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TAG_PREFIX = "\U000E0000".encode("utf-8")[:2]  # every tag character's UTF-8 starts so


# Bits of a gate mask (see gates) for the decoders keyed on a mark rather than a run of a class.
_MARKS = {"tag-characters": 0x100, "unicode-escape": 0x200, "byte-escape": 0x400, "percent": 0x800,
          "html-entity": 0x1000}
LEET_MARK = 0x2000  # not a decoder's: the text holds a leet symbol or a form of one (normalize.has_leet_symbols)
_RUN_GATES = tuple((bit, min_len) for _, _, _, bit, min_len in _SUBSTITUTIONS if bit)
_CLS_BYTES = _CLS.tobytes()


def gates(text: str) -> tuple[int, int, bytes | None, dict | None]:
    """(mask, letters, counts, runs): which decoders' cheap tests pass, the letters the cipher test
    counts (ASCII letters, and the two letters str.lower() makes ASCII), the ASCII letters a-z of
    any case one by one (26 int64, for the cipher test of a short text), and the runs of the
    classes in mask ({bit: _runs}). The numpy gates leave counts and runs None: found where needed.

    mask: the class bit of each class with a run long enough to decode, the _MARKS bit of each
    decoder whose mark is present, and LEET_MARK where a leet symbol is. The compiled scanner does
    it in one pass where it was built.
    """
    if fastscan.compiled is not None:
        return fastscan.compiled.gates(text, _gate_table())
    return _gates_utf8(text)


@cache
def _gate_table() -> bytes:
    """The compiled gates()'s table of the character classes and runs, made once."""
    return fastscan.compiled.gate_table(_CLS_BYTES, _RUN_GATES, tables().leet_bitmap)


def _gates_utf8(text: str) -> tuple[int, int, None, None]:
    """gates() from the UTF-8 bytes: substring tests and bytes.translate calls, at C speed each."""
    utf8 = text.encode("utf-8", "surrogatepass")
    mask = _MARKS["tag-characters"] if _TAG_PREFIX in utf8 else 0
    if has_leet_symbols(text):
        mask |= LEET_MARK
    for name, test in _GATE_TESTS.items():
        if test(text):
            mask |= _MARKS[name]
    for bit, min_len in _RUN_GATES:
        if b"x" * min_len in utf8.translate(_RUN_TABLES[bit]):
            mask |= bit
    # Letters as _WORDS counts them after str.lower() (which also makes these two ASCII letters).
    letters = len(utf8) - len(utf8.translate(None, _LETTER_BYTES)) + text.count("\u212a") + text.count("\u0130")
    return mask, letters, None, None


def decodings(text: str, raw: np.ndarray | None = None, gate: tuple | None = None) -> Iterator[Decoded]:
    """Every decoded form of the text worth scanning again (none for ordinary text).

    Each decoder is tried only where a cheap test (gates) says it could apply: its gate character
    is present, or a run of its characters long enough to decode. For ordinary text that test is
    all the work done. gate: gates(text) where the caller has it.
    """
    if not text:
        return
    mask, letters, counts, runs = gates(text) if gate is None else gate
    arrays = _Arrays(text, raw)
    if mask & ~LEET_MARK:
        yield from _substitutions(text, mask, runs, arrays)
    if len(text) <= _CHUNK:
        if letters < 4 or (2 * letters < len(text) and 2 * letters < len(text.strip())):
            return  # fewer than 4 words, or mostly not letters: no cipher (see _short_cipher_candidates)
    elif letters < _MIN_LETTERS:
        return  # no chunk has enough letters to test (see _cipher_candidates)
    yield from _ciphers(text, arrays, counts)


class _Arrays:
    """The text's code points and character classes as arrays, made on first use (numpy paths)."""

    def __init__(self, text: str, raw: np.ndarray | None):
        self.text, self._raw = text, raw

    @cached_property
    def raw(self) -> np.ndarray:
        return raw_codes(self.text) if self._raw is None else self._raw

    @cached_property
    def low(self) -> np.ndarray:
        return self.raw if self.raw.dtype == np.uint8 else np.minimum(self.raw, 0x7F).astype(np.uint8)  # 0x7F: no class

    @cached_property
    def classes(self) -> np.ndarray:
        return _CLS256[self.low]

    @cached_property
    def blocks(self) -> np.ndarray:
        return self.classes[: len(self.classes) - len(self.classes) % 4].view(np.uint32)


# The decoders whose runs the compiled scanner can rule out before Python decodes them
# (guard/_fastscan.c plausible_runs: 0 base64, 1 hex, 2 char codes).
_PLAUSIBLE = {"base64": 0, "hex": 1, "char-codes": 2}


def _substitutions(text: str, mask: int, runs: dict | None, arrays: _Arrays) -> Iterator[Decoded]:
    """The escapes and encodings whose gate is open in mask, decoded where their runs are (runs:
    gates' runs, or None to find them with numpy)."""
    for name, pattern, decode, bit, min_len in _SUBSTITUTIONS:
        if not mask & (bit or _MARKS[name]):
            continue
        if bit == 0:
            gate = _GATES[name]
            windows = [(0, len(text))] if gate is None else _near(text, gate, lambda: arrays.raw)
        else:
            if runs is None:
                windows = _runs(arrays.classes, arrays.blocks, bit, min_len)
            elif name in _PLAUSIBLE:
                # Only the runs where a match could decode to text the decoder accepts (an exact rejection).
                windows = fastscan.compiled.plausible_runs(text, runs[bit], min_len, _PLAUSIBLE[name])
            else:
                windows = runs[bit]
            windows = [(max(a - 1, 0), min(b + 1, len(text))) for a, b in windows]
        if windows:
            yield from _substituted(name, text, pattern, decode, windows)


def _ciphers(text: str, arrays: _Arrays, counts: bytes | None) -> Iterator[Decoded]:
    """The letter ciphers that fit some chunk of the text better than English, decoded there.
    counts: the text's letters (gates), or None to count them here."""
    if len(text) <= _CHUNK:
        if counts is None:
            counts = np.bincount(_LETTER[arrays.low], minlength=256)[:26]
        ciphers = _short_cipher_candidates(text, counts)
    else:
        ciphers = _cipher_candidates(text, None if fastscan.compiled else arrays.low)
    margin = _CHUNK // 4
    for (kind, k), chunks in sorted(ciphers.items()):
        name = "atbash" if kind == "atbash" else f"caesar-{k}"
        for i in chunks:
            a, b = max(i * _CHUNK - margin, 0), min((i + 1) * _CHUNK + margin, len(text))
            yield Decoded(name, _deciphered(text[a:b], kind, k), ((0, a, b, False),))
