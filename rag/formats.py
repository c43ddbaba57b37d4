"""Plain text, Markdown, Word (.docx) and HTML into pages with their section headings."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from core.errors import DocumentLoadError
from rag.document import LoadedDocument, Page, describe_bytes, plain_headings

__all__ = ["read_text", "read_docx", "read_html", "markdown_headings"]

_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
_MARK = "\ue000"  # marks a heading line while HTML is flattened (private use, not whitespace); never left in the text


def markdown_headings(text: str) -> tuple[tuple[int, str], ...]:
    return tuple((m.start(), m.group(1).strip()) for m in _MD_HEADING.finditer(text))


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentLoadError(path, f"this is not UTF-8 text: it looks like {describe_bytes(raw[:1024])}.",
                                "Save it as UTF-8 text, or give it the extension of what it is.") from None


def read_text(path: Path, *, markdown: bool) -> LoadedDocument:
    text = _decode(path, path.read_bytes())
    find = markdown_headings if markdown else plain_headings
    # A form feed separates pages in plain-text exports; keep them as pages.
    pages = tuple(Page(i + 1, part, find(part)) for i, part in enumerate(text.split("\f")))
    title = next((h for _, h in pages[0].headings), "") if markdown else ""
    return LoadedDocument(path, pages, title)


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
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as e:
        raise DocumentLoadError(path, f"the Word file is damaged or not a .docx ({e}).",
                                "Open and save it again in Word, or export it as PDF.") from e
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
    soup = BeautifulSoup(path.read_bytes(), "lxml")
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
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n")
        block.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    headings, clean, pos = [], [], 0
    for line in text.split("\n"):
        if line.startswith(_MARK):
            line = line[1:]
            headings.append((pos, line))
        clean.append(line)
        pos += len(line) + 1
    return LoadedDocument(path, (Page(1, "\n".join(clean), tuple(headings)),), title)
