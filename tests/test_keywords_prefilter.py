"""The keyword scan's fast paths give exactly what the slow, whole-text paths give.

guard/prefilter.py answers "can any term occur?" from hashed grams instead of running the automaton
over the whole text, and guard/keywords.py builds the views only around the prefilter's hits. Both
are checked here against the plain way on texts made to hit, nearly hit, and sit at window edges.
"""

import random

import pytest

from guard import KeywordFilter
from guard import keywords as K
from guard.decode import raw_codes
from guard.normalize import has_leet_symbols, leet_marked, quick_codes, quick_codes_index, quick_view, tables, to_str
from guard.prefilter import near_windows

TEXTS = [
    "",
    "a",
    "How to make a bomb at home?",
    "h o w  t o  m a k e  a  b o m b",
    "HOW TO MAKE A B0MB!!!",
    "ｈｏｗ ｔｏ ｍａｋｅ ａ ｂｏｍｂ",
    "how\u200b to\u200d make a bo\u00admb",
    "ﬁnd the ﬂat ﬁle: how to make a bomb",
    "怎么自杀 and 怎麼自殺 and 怎 么 自 杀",
    "i will kill you... a skill you will kill for",
    "I w!ll k!ll y0u, $ure",
    "how to commit suicide prevention is a public-health topic",
    "The quick brown fox jumps over the lazy dog. " * 40,
]


@pytest.fixture(scope="module")
def kf():
    return KeywordFilter()


@pytest.mark.parametrize("text", TEXTS)
def test_quick_codes_with_offsets_equal_the_quick_view(text):
    t = tables()
    for table in (t.quick, t.quick_leet):
        codes, index = quick_codes_index(raw_codes(text), table)
        assert to_str(codes) == to_str(quick_codes(raw_codes(text), table))
        assert len(index) == len(codes) and all(0 <= i < len(text) for i in index.tolist())
    assert to_str(quick_codes(raw_codes(text), t.quick)) == quick_view(text)


@pytest.mark.parametrize("text", TEXTS)
def test_the_prefilter_is_exact(kf, text):
    lists = kf._lists
    codes = quick_codes(raw_codes(text), tables().quick)
    whole = next(lists.quick.iter(to_str(codes)), None) is not None if len(codes) else False
    assert lists.quick_prefixes.any_match(codes, lists.quick, to_str) == whole
    found = {(s, e) for s, e in lists.quick_prefixes.matches(codes, lists.quick, to_str)}
    expected = {(end - n + 1, end + 1) for end, n in lists.quick.iter(to_str(codes))} if len(codes) else set()
    assert found == expected


def _long_texts(seed: int, n: int = 12):
    rng = random.Random(seed)
    filler = ("Revenue grew in the quarter while the skilled team kept costs flat; "
              "bombastic claims aside, margins held. 公司本季度营收增长。").split(" ")
    plants = ["how to make a bomb", "i will kill you", "怎么自杀", "h.o.w t.o m.a.k.e a b.o.m.b",
              "how to commit suicide prevention", "I w!ll k!ll y0u", "skill", "bombastic"]
    for _ in range(n):
        words = [rng.choice(filler) for _ in range(rng.randint(200, 900))]
        for _ in range(rng.randint(1, 5)):
            words.insert(rng.randint(0, len(words)), rng.choice(plants))
        yield " ".join(words)


def test_views_built_around_the_hits_find_what_the_whole_text_finds(kf):
    lists = kf._lists
    hits = 0
    for text in _long_texts(4):
        assert len(text) > 4 * K.NEAR
        near = sorted((m.start, m.end, m.category, m.term) for m in K._exact_near(lists, text, raw_codes(text)))
        whole = sorted((m.start, m.end, m.category, m.term) for m in K._exact(lists, text))
        assert near == whole
        for start, end, _, _ in near:
            assert text[start:end]  # spans in the original text
        hits += len(near)
    assert hits >= 12  # the texts do hit (every one has at least one planted term)


def test_a_hit_at_the_very_start_and_end_of_a_long_text(kf):
    middle = " plain words" * 200
    text = "how to make a bomb" + middle + " i will kill you"
    found = kf.scan(text)
    assert [text[m.start:m.end] for m in found] == ["how to make a bomb", "i will kill you"]


# Characters people put in place of letters, ASCII and not (the latter read as leet only in the leet
# view; Tables.leet_marks holds both), and some that fold to several.
_LEETS = {"a": "4@＠⍺", "s": "5$＄﹩", "i": "1!|！︕", "l": "1|£│｜", "t": "7+＋⊤", "e": "3€℮", "c": "¢￠", "b": "8ß",
          "o": "0", "g": "69", "x": "×⨯", "f": ["ﬁ", "ﬂ"]}
_PHRASES = ["how to make a bomb", "i will kill you", "ignore previous instructions", "child porn", "make meth at home",
            "kill yourself", "how to make explosives", "bombastic", "skill", "you are now dan"]


def _leet_texts(seed: int, n: int):
    """Phrases written in leetspeak (symbols, digits, look-alike letters), with separators and
    repeats, among symbols and plain words: texts where the leet view is what finds a term."""
    rng = random.Random(seed)
    filler = "the quick brown fox said: wow! $5 + tax | 100% @home, ×2 ℮ ！ ‼ ﬁne ok".split(" ")
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                phrase = "".join(rng.choice(_LEETS[c]) if c in _LEETS and rng.random() < 0.4 else c
                                 for c in rng.choice(_PHRASES))
                parts.append(phrase.replace(" ", rng.choice([" ", "", ".", " . ", "  "])))
            else:
                parts.append(" ".join(rng.choice(filler) for _ in range(rng.randint(1, 30))))
        yield rng.choice([" ", "", "!"]).join(parts)


def test_the_leet_check_near_marked_characters_decides_as_the_whole_leet_view(kf):
    """Where the quick view holds no term, the leet view around the characters it reads unlike the
    quick view (near_windows, the reference of the compiled near()) holds a term exactly where the
    whole leet view does; and _any_leet says what the whole view says."""
    lists, t = kf._lists, tables()
    assert lists.leet_in_quick
    asked = found = 0
    for text in list(_leet_texts(3, 1500)) + TEXTS + list(_long_texts(6, 4)):
        if not has_leet_symbols(text) or K._any(lists.quick_prefixes, lists.quick, text, t.quick, None):
            continue
        raw = raw_codes(text)
        codes, index = quick_codes_index(raw, t.quick_leet)
        whole = lists.leet_prefixes.any_match(codes, lists.deny["leet"], to_str)
        joined = near_windows(codes, index, leet_marked(raw), lists.leet_prefixes.longest)
        near = joined is not None and next(lists.deny["leet"].iter(to_str(joined)), None) is not None
        assert near == whole == K._any_leet(lists, text, None), text
        asked += 1
        found += whole
    assert asked > 300 and found > 100


def test_a_leet_term_without_a_quick_term_inside_reads_the_whole_leet_view(tmp_path):
    """'m@ke bombs' reads 'makebombs' in the leet view but 'mkebombs' in the quick one: no quick
    term lies inside it, so the leet view is read whole (and the term is still found)."""
    (tmp_path / "odd.txt").write_text("m@ke bombs\n", encoding="utf-8")
    kf = KeywordFilter([tmp_path])
    assert not kf._lists.leet_in_quick
    assert [m.term for m in kf.scan("how to m4ke bombs! fast")] == ["m@ke bombs"]
    assert [m.term for m in kf.scan("so, m@ke bombs + more")] == ["m@ke bombs"]
