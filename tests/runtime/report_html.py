"""Reading the after-action report back: its tables and lists by element id (stdlib
`html.parser`; the report is one generated file, so its ids are stable)."""

from __future__ import annotations

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.lists: dict[str, list[str]] = {}
        self.paragraphs: list[str] = []
        self._table: str | None = None
        self._list: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id")
        if tag == "table" and ident:
            self._table = ident
            self.tables[ident] = []
        elif tag == "ul" and ident:
            self._list = ident
            self.lists[ident] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th", "li"):
            self._cell = []
        elif tag == "p":
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "ul":
            self._list = None
        elif tag == "tr" and self._table and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "li" and self._list and self._cell is not None:
            self.lists[self._list].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph).strip())
            self._paragraph = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)


def read_report(page: str) -> _Tables:
    """The report's tables (rows of cell texts, header row first), lists and paragraphs."""
    parser = _Tables()
    parser.feed(page)
    return parser
