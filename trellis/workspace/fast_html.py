"""HTML built in Python where a Jinja loop was most of a page's time: the rows of a records
table and the options of the list page's filter selects.

A list page of 50 records x 6 columns through the template's nested loop cost about half of
the page's time (a loop context, attribute lookups and several escapes per cell); here each
cell is one f-string with its text and link escaped once. Used by the list page and the
record page's related lists, which show rows the same way: the first column links to the
record, a lookup cell to the record it names.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from trellis.workspace.fields import Cell, Column


def rows_html(href: str, columns: Sequence[Column], rows: Sequence[tuple[str, dict[str, Cell]]]) -> Markup:
    """`<tr>`s of `rows` ((id, cells)); `href` is the object's list path (a record is `href/id`)."""
    base = escape(href)
    classes = [f' class="t-{escape(c.type)}"' for c in columns]
    out: list[str] = []
    for record_id, cells in rows:
        out.append("<tr>")
        for i, column in enumerate(columns):
            cell = cells[column.name]
            text = escape(cell.text)
            if i == 0:
                out.append(f'<td{classes[i]}><a href="{base}/{escape(record_id)}">{text or escape(record_id)}</a></td>')
            elif cell.href:
                out.append(f'<td{classes[i]}><a href="{escape(cell.href)}">{text}</a></td>')
            else:
                out.append(f"<td{classes[i]}>{text}</td>")
        out.append("</tr>\n")
    return Markup("".join(out))


def options_html(choices: Sequence[tuple[str, str]], selected: str) -> Markup:
    """`<option>`s of (value, label) pairs, `selected` marked."""
    return Markup("".join(f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(label)}</option>'
                          for v, label in choices))
