"""Plain text, Markdown, Word (.docx) and HTML into pages with their section headings."""

from __future__ import annotations

import codecs
import re
import zipfile
import zlib
from pathlib import Path

from core.errors import DocumentLoadError
from rag.document import LoadedDocument, Page, describe_bytes, plain_headings

__all__ = ["read_text", "read_docx", "read_html", "markdown_headings", "decode_text", "LEGACY_ENCODINGS"]

_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_MARK = "\ue000"  # marks a heading line while HTML is flattened (private use, not whitespace); never left in the text


def markdown_headings(text: str) -> tuple[tuple[int, str], ...]:
    return tuple((m.start(), m.group(1).strip()) for m in _MD_HEADING.finditer(text))


# Byte order marks, longest first (a UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# What text without a mark, and not UTF-8, is read as, in order of preference when the bytes fit several equally
# well (a short text can): Chinese (mainland, then Taiwan and Hong Kong), Japanese, Korean, Western Windows.
LEGACY_ENCODINGS = ("gb18030", "big5", "shift_jis", "euc_kr", "cp1252")


def decode_text(raw: bytes) -> tuple[str, str] | None:
    """(text, encoding) for text in a common encoding: a byte order mark says which, else UTF-8 if the bytes are,
    else the legacy encoding that charset-normalizer finds the bytes fit; None when none does."""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec), codec.removesuffix("-sig")
            except UnicodeDecodeError:
                return None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(raw, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        return None
    best = matches[0]
    tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    chosen = min(tied, key=lambda m: LEGACY_ENCODINGS.index(m.encoding) if m.encoding in LEGACY_ENCODINGS else 99)
    return str(chosen), chosen.encoding


def _decode(path: Path, raw: bytes) -> tuple[str, str]:
    decoded = decode_text(raw)
    if decoded is None:
        raise DocumentLoadError(path, f"this text is in no encoding Hearth reads (UTF-8, UTF-16/32 with a byte order "
                                f"mark, {', '.join(e.upper() for e in LEGACY_ENCODINGS)}): it looks like "
                                f"{describe_bytes(raw[:1024])}.", "Save it as UTF-8 text, or give it the extension "
                                "of what it is.")
    return decoded


def read_text(path: Path, *, markdown: bool) -> LoadedDocument:
    text, encoding = _decode(path, path.read_bytes())
    find = markdown_headings if markdown else plain_headings
    # A form feed separates pages in plain-text exports; keep them as pages.
    pages = tuple(Page(i + 1, part, find(part)) for i, part in enumerate(text.split("\f")))
    title = next((h for _, h in pages[0].headings), "") if markdown else ""
    return LoadedDocument(path, pages, title, encoding=encoding)


def read_docx(path: Path, head: bytes) -> LoadedDocument:
    """Paragraphs and tables in body order; a new page wherever Word saved a page break."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DocumentLoadError(path, "this is an encrypted or old-format (.doc) Word file, not a .docx.",
                                "Remove the password, or save it as .docx in Word, and add it again.")
    if not head.startswith(b"PK\x03\x04"):
        raise DocumentLoadError(path, f"this is not a Word document: it looks like {describe_bytes(head)}.",
                                "Rename it with the right extension or save it as .docx.")
    from lxml.etree import LxmlError

    # What a damaged .docx raises from inside the ZIP, its compression or its XML, while it opens or is read.
    damaged = (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, zlib.error, EOFError, LxmlError,
               AttributeError, IndexError, NotImplementedError, OSError)
    try:
        return _docx_pages(path, docx.Document(str(path)))
    except damaged as e:
        raise DocumentLoadError(path, f"the Word file is damaged or not a .docx ({type(e).__name__}: {e}).",
                                "Open and save it again in Word, or export it as PDF.") from e


def _docx_pages(path: Path, document) -> LoadedDocument:
    import docx

    pages: list[tuple[list[str], list[tuple[int, str]]]] = [([], [])]
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            lines = [" | ".join(dict.fromkeys(c.text.strip() for c in row.cells)) for row in block.rows]
            text, heading = "\n".join(lines), None
        else:
            if _starts_page(block) and pages[-1][0]:
                pages.append(([], []))
            text = block.text
            style = (block.style.name if block.style is not None else "") or ""
            heading = text.strip() if style.startswith(("Heading", "Title")) and text.strip() else None
        parts, heads = pages[-1]
        if heading:
            heads.append((sum(len(p) + 1 for p in parts), heading))
        parts.append(text)
    out = tuple(Page(i + 1, "\n".join(parts), tuple(heads)) for i, (parts, heads) in enumerate(pages))
    return LoadedDocument(path, out, (document.core_properties.title or "").strip())


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _starts_page(paragraph) -> bool:
    xml = paragraph._p.xml
    return "lastRenderedPageBreak" in xml or 'w:type="page"' in xml


_BLOCKS = ["p", "div", "section", "article", "li", "ul", "ol", "table", "blockquote", "pre", "header", "footer",
           "main", "aside", "nav", "dt", "dd", "figcaption", "address", "hr"]


def read_html(path: Path, head: bytes) -> LoadedDocument:
    """Visible text; headings kept as section names, table rows as 'cell | cell' lines."""
    from bs4 import BeautifulSoup

    what = describe_bytes(head)
    if what.startswith(("a ", "an ")) and what != "an HTML page":  # a known binary format
        raise DocumentLoadError(path, f"this is not an HTML page: it looks like {what}.",
                                "Rename it with the right extension.")
    raw = path.read_bytes()
    # Bytes that are valid UTF-8 are UTF-8 (a page saved without <meta charset> was read as a Windows code page:
    # 'À' became 'Ă€'); others are left to the page's own declaration and BeautifulSoup's detection.
    soup = BeautifulSoup(raw, "lxml", from_encoding="utf-8" if _is_utf8(raw) else None)
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "noscript", "template", "svg", "head"]):
        tag.decompose()
    for tr in soup.find_all("tr"):
        cells = [c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])]
        tr.replace_with("\n" + " | ".join(cells) + "\n")
    for h in soup.find_all(re.compile(r"^h[1-6]$")):
        h.replace_with(f"\n{_MARK}{h.get_text(' ', strip=True)}\n")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    lines = [" ".join(line.split()) for line in _visible_text(soup).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    headings, clean, pos = [], [], 0
    for line in text.split("\n"):
        if line.startswith(_MARK):
            line = line[1:]
            headings.append((pos, line))
        clean.append(line)
        pos += len(line) + 1
    return LoadedDocument(path, (Page(1, "\n".join(clean), tuple(headings)),), title)


def _visible_text(soup) -> str:
    """The soup's text with a line break at both ends of every block element, in one pass. (BeautifulSoup's
    insert_before/insert_after walk a block's whole subtree each time: HTML nested 20,000 deep took 22 s.)"""
    from bs4 import CData, NavigableString

    blocks, out, stack = frozenset(_BLOCKS), [], [(soup, False)]
    while stack:
        node, leaving = stack.pop()
        if isinstance(node, NavigableString):
            if type(node) in (NavigableString, CData):  # what get_text() shows: not comments or doctypes
                out.append(str(node))
            continue
        if node.name in blocks:
            out.append("\n")
        if not leaving:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.contents))
    return "".join(out)
