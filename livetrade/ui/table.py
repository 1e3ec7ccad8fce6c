"""A table widget whose redraw touches only the cells that changed, and whose rows click.

An ``ipywidgets.HTML`` table is rebuilt from a string on every redraw: the browser replaces
every cell, so a trader's text selection on the quote board vanished within a redraw, and a
row cannot say it was clicked. This anywidget keeps one ``<table>`` and on each ``rows``
change rewrites only the text and classes that differ; a click on a row sends its ``key``
back (``on_click``). A redraw is still one comm message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

from livetrade.ui.common import Cell

ESM = """
function render({ model, el }) {
  const table = document.createElement("table");
  const thead = table.createTHead();
  const tbody = table.createTBody();
  const foot = document.createElement("div");
  el.appendChild(table);
  el.appendChild(foot);
  function put(td, c) {
    const text = c[0], cls = c[1] || "";
    if (td.textContent !== text) td.textContent = text;
    if (td.className !== cls) td.className = cls;
    if (td.colSpan !== 1) td.colSpan = 1;
  }
  function draw() {
    const cls = model.get("table_class");
    if (table.className !== cls) table.className = cls;
    const f = model.get("footer") || ["", ""];
    if (foot.textContent !== f[0]) foot.textContent = f[0];
    const fc = f[0] ? "lt-summary " + (f[1] || "") : "";
    if (foot.className !== fc) foot.className = fc;
    const headers = model.get("headers");
    const hr = thead.rows[0] || thead.insertRow();
    while (hr.cells.length > headers.length) hr.deleteCell(-1);
    headers.forEach((h, i) => put(hr.cells[i] || hr.appendChild(document.createElement("th")), h));
    const rows = model.get("rows");
    const selected = model.get("selected");
    if (!rows.length) {
      while (tbody.rows.length > 1) tbody.deleteRow(-1);
      const tr = tbody.rows[0] || tbody.insertRow();
      while (tr.cells.length > 1) tr.deleteCell(-1);
      const td = tr.cells[0] || tr.insertCell();
      put(td, [model.get("empty"), "lt-empty"]);
      td.colSpan = Math.max(1, headers.length);
      tr.className = "lt-empty-row";
      delete tr.dataset.key;
      return;
    }
    while (tbody.rows.length > rows.length) tbody.deleteRow(-1);
    rows.forEach((r, i) => {
      const tr = tbody.rows[i] || tbody.insertRow();
      if (tr.dataset.key !== r[0]) tr.dataset.key = r[0];
      const rc = r[0] && r[0] === selected ? "lt-selected" : "";
      if (tr.className !== rc) tr.className = rc;
      const cells = r[1];
      while (tr.cells.length > cells.length) tr.deleteCell(-1);
      cells.forEach((c, j) => put(tr.cells[j] || tr.insertCell(), c));
    });
  }
  tbody.addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr");
    if (!tr || !tr.dataset.key) return;
    const sel = window.getSelection && String(window.getSelection());
    if (sel) return;  // selecting text to copy is not a click on the row
    const td = ev.target.closest("td");
    model.send({ event: "click", key: tr.dataset.key, col: td ? td.cellIndex : -1 });
    const goto = model.get("click_scroll");
    if (goto && td && td.classList.contains("lt-click")) {
      const root = el.closest(".livetrade-dashboard") || document;
      const target = root.querySelector(goto);
      if (target) target.scrollIntoView({ block: "nearest" });
    }
  });
  for (const name of ["rows", "headers", "selected", "table_class", "empty", "footer"]) {
    model.on("change:" + name, draw);
  }
  draw();
}
export default { render };
"""


@cache
def _table_class() -> Any:
    import anywidget
    import traitlets

    class Table(anywidget.AnyWidget):
        _esm = ESM
        table_class = traitlets.Unicode("lt-table").tag(sync=True)
        headers: traitlets.List[Any] = traitlets.List().tag(sync=True)
        rows: traitlets.List[Any] = traitlets.List().tag(sync=True)
        empty = traitlets.Unicode("").tag(sync=True)
        selected = traitlets.Unicode("").tag(sync=True)
        footer: traitlets.List[Any] = traitlets.List().tag(sync=True)  # [text, css] under it
        # a click on a cell of class lt-click scrolls this selector's element into view
        click_scroll = traitlets.Unicode("").tag(sync=True)

    return Table


def _cells(cells: Iterable[Cell | str]) -> list[list[str]]:
    return [[c.text, c.css] if isinstance(c, Cell) else [c, ""] for c in cells]


class TableWidget:
    """Thin adapter: ``show(headers, rows)`` with ``rows`` as ``(key, cells)`` pairs."""

    def __init__(self, table_class: str, empty: str = "") -> None:
        self.widget: Any = _table_class()(table_class=table_class, empty=empty)
        self.on_click: Callable[[str], None] | None = None
        self.on_cell: Callable[[str, int], None] | None = None
        """``(row key, column index)`` of a click, beside ``on_click`` (the option chain
        tells a bid from an ask by the column)."""
        self.widget.on_msg(self._msg)

    def _msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "click":
            key = content.get("key")
            if isinstance(key, str) and self.on_click is not None:
                self.on_click(key)
            col = content.get("col")
            if isinstance(key, str) and isinstance(col, int) and self.on_cell is not None:
                self.on_cell(key, col)

    def show(
        self,
        headers: Sequence[Cell | str],
        rows: Iterable[tuple[str, Sequence[Cell | str]]],
        footer: Cell | None = None,
    ) -> None:
        """Send the table and its footer line (one message; none if nothing changed)."""
        w = self.widget
        head = _cells(headers)
        body = [[key, _cells(cells)] for key, cells in rows]
        foot = [] if footer is None else [footer.text, footer.css]
        with w.hold_sync():
            if w.headers != head:
                w.headers = head
            if w.rows != body:
                w.rows = body
            if w.footer != foot:
                w.footer = foot

    @property
    def footer(self) -> str:
        """The footer line's text ("" without one)."""
        foot = self.widget.footer
        return str(foot[0]) if foot else ""

    def select(self, key: str) -> None:
        if self.widget.selected != key:
            self.widget.selected = key

    def text(self) -> str:
        """Every cell's text, row by row (what a test or a screen reader reads)."""
        rows = self.widget.rows or [["", [[self.widget.empty, ""]]]]
        return "\n".join(" | ".join(c[0] for c in cells) for _key, cells in rows)
